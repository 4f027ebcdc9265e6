// The Controller/NodeGetCapabilities answer of every driver: a list of RPC capability types.
export function rpcCapabilities<T extends string>(...types: T[]): { capabilities: { rpc: { type: T } }[] } {
  return { capabilities: types.map((type) => ({ rpc: { type } })) };
}
