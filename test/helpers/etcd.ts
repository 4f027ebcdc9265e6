// A real etcd for tests: the benchmarks' starter (Debian's etcd-server on free loopback ports, a
// temp data directory, stopped by PID), and whether this machine has it.
import { hasCommand } from '../conformance/host.js';

export { startEtcd, type EtcdServer } from '../../bench/helpers/etcd.js';

/** Why etcd-backed tests cannot run here, or undefined when they can. */
export function etcdUnavailable(): string | undefined {
  return hasCommand('etcd') ? undefined : 'needs etcd (Debian: etcd-server)';
}
