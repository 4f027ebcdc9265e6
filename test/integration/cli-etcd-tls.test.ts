// berth on an existing etcd that serves clients over TLS and wants their certificates, as the
// README tells: `--etcd-servers=https://... --etcd-cafile --etcd-certfile --etcd-keyfile`. The
// certificates are made with openssl for this test; etcd is real. `berth up` and a `berth apiserver`
// share the one etcd (an object written through one is read through the other, with the real
// kubectl), and what is wrong about the etcd flags is an error naming the flag, never a hang.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnBerth, waitForOutput, type Spawned } from '../helpers/berth-process.js';
import { hasCommand } from '../conformance/host.js';
import { etcdUnavailable, makeEtcdCertificates, startEtcd, type EtcdServer } from '../helpers/etcd.js';
import { kubectlOn } from '../helpers/kubectl-on.js';
import { skipUnless } from '../helpers/skip.js';

type Certificates = ReturnType<typeof makeEtcdCertificates>;

describe('cli: berth on an etcd with TLS client certificates (processes)', function () {
  this.timeout(300_000); // each refused start waits out etcd's 10 s dial deadline
  let etcd: EtcdServer | undefined;
  let dir = '';
  let certs: Certificates;
  let foreign: Certificates;
  const procs: Spawned[] = [];

  before(async function () {
    const why =
      etcdUnavailable() ??
      (['openssl', 'kubectl'].find((c) => !hasCommand(c)) ? 'needs openssl and kubectl' : undefined);
    skipUnless(this, why === undefined, why ?? '');
    dir = await mkdtemp(join(tmpdir(), 'berth-etcd-tls-'));
    certs = makeEtcdCertificates(dir);
    foreign = makeEtcdCertificates(dir, 'other-ca');
    etcd = await startEtcd({ tls: certs });
  });
  after(async function () {
    for (const proc of procs) {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const tlsFlags = (c: Certificates = certs, ca = certs.caFile) => [
    `--etcd-servers=${etcd!.endpoint}`,
    `--etcd-cafile=${ca}`,
    `--etcd-certfile=${c.clientCert}`,
    `--etcd-keyfile=${c.clientKey}`,
  ];

  function berth(args: string[]): Spawned {
    const proc = spawnBerth(args);
    procs.push(proc);
    return proc;
  }

  async function started(proc: Spawned): Promise<string> {
    const [, kubeconfig] = await waitForOutput(proc, /kubeconfig: (\S+)\n/, 60_000);
    return kubeconfig!;
  }

  /** The command's exit status and stderr; it must end by itself within the test's timeout. */
  async function fails(args: string[]): Promise<string> {
    const proc = berth(args);
    assert.equal(await proc.exited, 1, proc.stdout());
    assert.doesNotMatch(proc.stderr(), /\n\s+at /, 'no stack trace');
    return proc.stderr();
  }

  it('berth up and berth apiserver keep one state in the etcd, reached with client certificates', async function () {
    assert.match(etcd!.endpoint, /^https:/);
    const up = berth([
      'up',
      '--control-plane-only',
      '--port=0',
      `--data-dir=${join(dir, 'up')}`,
      ...tlsFlags(),
    ]);
    const upConfig = await started(up);
    assert.match(up.stdout(), new RegExp(`state in etcd: ${etcd!.endpoint} under /registry`));
    const { kubectl } = kubectlOn(() => upConfig);
    const created = await kubectl(['create', 'configmap', 'via-up', '--from-literal=k=v']);
    assert.equal(created.exitCode, 0, created.stderr);

    const api = berth(['apiserver', '--secure-port=0', `--data-dir=${join(dir, 'api')}`, ...tlsFlags()]);
    const apiConfig = await started(api);
    const viaApi = kubectlOn(() => apiConfig).kubectl;
    const read = await viaApi(['get', 'configmap', 'via-up', '-o', 'jsonpath={.data.k}']);
    assert.equal(read.exitCode, 0, read.stderr);
    assert.equal(read.stdout, 'v');

    up.child.kill('SIGTERM');
    assert.equal(await up.exited, 0, up.stderr());
    api.child.kill('SIGTERM');
    assert.equal(await api.exited, 0, api.stderr());
  });

  it('names --etcd-servers when etcd refuses the client: no certificate, or one of another CA', async function () {
    const data = `--data-dir=${join(dir, 'refused')}`;
    const noCert = await fails([
      'apiserver',
      '--secure-port=0',
      data,
      `--etcd-servers=${etcd!.endpoint}`,
      `--etcd-cafile=${certs.caFile}`,
    ]);
    assert.match(
      noCert,
      new RegExp(`^error: cannot use the etcd of --etcd-servers=${etcd!.endpoint}: `, 'm'),
    );
    const otherCa = await fails(['apiserver', '--secure-port=0', data, ...tlsFlags(foreign)]);
    assert.match(otherCa, /^error: cannot use the etcd of --etcd-servers=/m);
    // a CA that did not sign etcd's certificate: the client refuses etcd
    const wrongTrust = await fails([
      'apiserver',
      '--secure-port=0',
      data,
      ...tlsFlags(certs, foreign.caFile),
    ]);
    assert.match(wrongTrust, /^error: cannot use the etcd of --etcd-servers=/m);
  });

  it('names the flag of a missing or unreadable file, and https without a CA', async function () {
    const data = `--data-dir=${join(dir, 'files')}`;
    const base = ['apiserver', '--secure-port=0', data, `--etcd-servers=${etcd!.endpoint}`];
    assert.match(
      await fails([...base, `--etcd-cafile=${join(dir, 'missing.crt')}`]),
      /^error: invalid argument ".*missing\.crt" for "--etcd-cafile" flag: no such file\n/,
    );
    assert.match(
      await fails([
        ...base,
        `--etcd-cafile=${certs.caFile}`,
        `--etcd-certfile=${dir}`,
        `--etcd-keyfile=${certs.clientKey}`,
      ]),
      /^error: invalid argument ".*" for "--etcd-certfile" flag: /,
    );
    assert.match(await fails(base), /^error: https etcd endpoints need --etcd-cafile\n/);
    assert.match(
      await fails([...base, `--etcd-cafile=${certs.caFile}`, `--etcd-certfile=${certs.clientCert}`]),
      /^error: --etcd-certfile and --etcd-keyfile go together\n/,
    );
    assert.match(
      await fails(['up', '--port=0', data, '--etcd-cafile=x']),
      /^error: --etcd-cafile needs --etcd-servers\n/,
    );
  });
});
