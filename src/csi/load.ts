// Loads proto/csi.proto once with the decoding options every berth CSI component relies on.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** The proto folder sits two levels above this module (src/csi -> repo root). */
export const CSI_PROTO_PATH = path.resolve(import.meta.dirname, '..', '..', 'proto', 'csi.proto');

export const CSI_PACKAGE = 'csi.v1';

/** keepCase: snake_case field names as on the wire; int64 as decimal strings; enums by name. */
export const CSI_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export type CsiGrpcService = 'Identity' | 'Controller' | 'Node' | 'GroupController' | 'SnapshotMetadata';

export interface CsiDefinitions {
  packageDefinition: protoLoader.PackageDefinition;
  /** grpc-js service definitions, ready for Server.addService. */
  services: Record<CsiGrpcService, grpc.ServiceDefinition>;
  /** grpc-js client constructors, as a third-party CO would build them. */
  clients: Record<CsiGrpcService, grpc.ServiceClientConstructor>;
}

let cached: CsiDefinitions | undefined;

export function loadCsiDefinitions(): CsiDefinitions {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(CSI_PROTO_PATH, CSI_LOADER_OPTIONS);
  const root = grpc.loadPackageDefinition(packageDefinition);
  const csiV1 = (root['csi'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
  const names: CsiGrpcService[] = ['Identity', 'Controller', 'Node', 'GroupController', 'SnapshotMetadata'];
  const clients = {} as Record<CsiGrpcService, grpc.ServiceClientConstructor>;
  const services = {} as Record<CsiGrpcService, grpc.ServiceDefinition>;
  for (const name of names) {
    const ctor = csiV1[name] as grpc.ServiceClientConstructor;
    clients[name] = ctor;
    services[name] = ctor.service;
  }
  cached = { packageDefinition, services, clients };
  return cached;
}
