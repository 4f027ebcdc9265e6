// The client side of bench/watch-fanout.ts, in a child process: N concurrent watches of PVCs over
// HTTPS (one keep-alive connection each), reading the stream line by line and recording, for
// each event, the time from the write (an annotation the writer sets) to its arrival here.
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';

export interface WatchLoadSpec {
  url: string;
  token: string;
  ca: string;
  watchers: number;
  resourceVersion: string;
}

export interface WatchLoadReport {
  /** Delivery latencies in ms, ascending (a sample of at most 200,000). */
  latencies: number[];
  events: number;
  /** Streams that ended before they were told to (cut off or failed). */
  ended: number;
  errors: string[];
}

export const SENT_AT = 'bench.berth.io/sent-at';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export async function startWatchers(
  spec: WatchLoadSpec,
): Promise<{ opened: Promise<void>; stop(): WatchLoadReport }> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, ca: spec.ca });
  const latencies: number[] = [];
  let events = 0;
  let ended = 0;
  let stopping = false;
  const errors: string[] = [];
  const requests: ReturnType<typeof request>[] = [];
  const path = `/api/v1/namespaces/default/persistentvolumeclaims?watch=true&resourceVersion=${spec.resourceVersion}`;
  const openings = Array.from(
    { length: spec.watchers },
    () =>
      new Promise<void>((resolve) => {
        const req = request(
          `${spec.url}${path}`,
          { agent, headers: { authorization: `Bearer ${spec.token}` } },
          (res) => {
            resolve();
            let rest = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              const now = wallNow();
              const lines = (rest + chunk).split('\n');
              rest = lines.pop() ?? '';
              for (const line of lines) {
                events++;
                const sentAt = /"bench\.berth\.io\/sent-at":"([\d.]+)"/.exec(line)?.[1];
                if (sentAt && latencies.length < 200_000) latencies.push(now - Number(sentAt));
              }
            });
            res.on('end', () => {
              if (!stopping) ended++;
            });
          },
        );
        req.on('error', (err) => {
          if (!stopping && errors.length < 5) errors.push(err.message);
          resolve();
        });
        req.end();
        requests.push(req);
      }),
  );
  return {
    opened: Promise.all(openings).then(() => undefined),
    stop() {
      stopping = true;
      for (const req of requests) req.destroy();
      agent.destroy();
      return { latencies: latencies.sort((a, b) => a - b), events, ended, errors };
    },
  };
}
