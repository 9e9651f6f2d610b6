/** An image the panel itself puts on nodes (the disk-quota probe, the console's tools): its id and `docker save` archive. */
export interface PanelImage {
  imageId: string;
  archive: string;
}
