// Which provisioners make node-local volumes: a volume that lives on one node and can only be
// used there. The rule is deliberately simple and stated once: berth's local driver. Such a class
// wants WaitForFirstConsumer, so that the volume is made where the pod is scheduled.
export const LOCAL_DRIVER_NAME = 'local.csi.berth.io';
export const NODE_LOCAL_PROVISIONERS: readonly string[] = [LOCAL_DRIVER_NAME];

export function isNodeLocalProvisioner(provisioner: string): boolean {
  return NODE_LOCAL_PROVISIONERS.includes(provisioner);
}

/** Why Immediate binding does not suit a class of a node-local provisioner (events and warnings). */
function immediateNodeLocalMessage(className: string, provisioner: string): string {
  return (
    `StorageClass "${className}" uses volumeBindingMode Immediate, but ${provisioner} makes node-local ` +
    'volumes: the volume is made before any pod is scheduled, on a node the pod may not fit or be ' +
    'allowed on; set volumeBindingMode: WaitForFirstConsumer'
  );
}

/** The message when a class of a node-local provisioner binds immediately, else undefined. */
export function immediateNodeLocalProblem(storageClass: {
  metadata: { name?: string };
  provisioner?: string;
  volumeBindingMode?: string;
}): string | undefined {
  const provisioner = storageClass.provisioner ?? '';
  if (!isNodeLocalProvisioner(provisioner)) return undefined;
  if ((storageClass.volumeBindingMode ?? 'Immediate') !== 'Immediate') return undefined;
  return immediateNodeLocalMessage(storageClass.metadata.name ?? '', provisioner);
}
