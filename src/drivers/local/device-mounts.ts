// The device view of a loop device: its major:minor as sysfs reports it, plus the filesystem that
// holds its node, so mountinfo tells which mounts use it (see node/mount/device-mounts.ts).
import type { DeviceView } from '../../node/mount/device-mounts.js';
import { deviceView } from '../../node/mount/device-mounts.js';
import type { LoopDevice } from '../../node/mount/loop.js';

export async function loopMountView(loop: LoopDevice): Promise<DeviceView> {
  return deviceView(loop.device, loop.majorMinor);
}
