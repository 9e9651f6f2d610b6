import type { Template } from '../../domain/types.js';

/** One way of making a template's root filesystem on the panel host. */
export interface RootfsSource {
  /** Everything the build depends on besides the template's own files, for the cache key. */
  fingerprint(template: Template): Promise<string>;
  /** Fills the empty folder `rootfs` with the template's root filesystem. */
  build(template: Template, rootfs: string, log: (line: string) => void): Promise<void>;
}
