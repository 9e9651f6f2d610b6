/**
 * Serialized list pages, kept until the data under them changes: repeated reads of a
 * large fleet (dashboards polling, billing syncs) then cost a map lookup. The key must
 * name everything the page depends on, including who asked.
 */
export class RenderCache {
  private readonly pages = new Map<string, string>();
  private stamp = '';

  constructor(private readonly max = 64) {}

  get(stamp: string, key: string): string | undefined {
    if (stamp !== this.stamp) {
      this.pages.clear();
      this.stamp = stamp;
      return undefined;
    }
    return this.pages.get(key);
  }

  set(stamp: string, key: string, body: string): void {
    if (stamp !== this.stamp) return;
    if (this.pages.size >= this.max) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(key, body);
  }
}
