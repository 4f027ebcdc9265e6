// The device view of a loop device: its major:minor as sysfs reports it, plus the filesystem that
// holds its node, so mountinfo tells which mounts use it (see host/device-mounts.ts).
import type { DeviceView } from '../../host/device-mounts.js';
import { deviceView } from '../../host/device-mounts.js';
import type { LoopDevice } from '../../host/loop.js';

export async function loopMountView(loop: LoopDevice): Promise<DeviceView> {
  return deviceView(loop.device, loop.majorMinor);
}
