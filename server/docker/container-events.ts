import type { EnvironmentHealth } from '../domain/types.js';

/** One container event from a node's Docker event stream, as the panel uses it. */
export interface ContainerEvent {
  action: string;
  containerId: string;
  labels: Record<string, string>;
  exitCode: number | null;
  /** What follows the action's colon ("healthy" in "health_status: healthy"), or null. */
  detail: string | null;
  /** Seconds since the epoch, Docker's resolution for `since`. */
  time: number;
  timeNano: number;
}

interface RawEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  id?: string;
  time?: number;
  timeNano?: number;
}

/**
 * Splits Docker's newline-delimited JSON event stream into events; a line that is
 * not an event is skipped rather than trusted.
 */
export function eventParser(onEvent: (e: ContainerEvent) => void): (chunk: Buffer | string) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (!line) continue;
      let raw: RawEvent;
      try {
        raw = JSON.parse(line) as RawEvent;
      } catch {
        continue;
      }
      if (raw.Type !== 'container' || typeof raw.Action !== 'string') continue;
      const attributes = raw.Actor?.Attributes ?? {};
      const exit = attributes.exitCode;
      onEvent({
        // Actions like "exec_start: sh -c ..." carry their command; only the verb matters here.
        action: raw.Action.split(':')[0]!.trim(),
        detail: raw.Action.includes(':') ? raw.Action.slice(raw.Action.indexOf(':') + 1).trim() : null,
        containerId: raw.Actor?.ID ?? raw.id ?? '',
        labels: attributes,
        exitCode: exit === undefined ? null : Number(exit),
        time: raw.time ?? Math.floor(Date.now() / 1000),
        timeNano: raw.timeNano ?? Date.now() * 1e6,
      });
    }
  };
}

/** Docker's word for a health check's verdict, as the panel keeps it ('none' and anything else: no verdict). */
export function healthOf(status: string | null | undefined): EnvironmentHealth | null {
  return status === 'starting' || status === 'healthy' || status === 'unhealthy' ? status : null;
}
