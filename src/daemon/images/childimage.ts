/**
 * An image made on top of another — `commit`, a build step's config, the builder's COPY — as
 * docker writes it: the parent's platform, layers and history carried over, the new config
 * with the config it was made from (`container_config`), one history line for the step, and
 * fields in docker's order (the order is part of the image ID).
 */
import type { ContainerConfig, ImageConfigFile } from '../../api/types.ts';
import { ENGINE_VERSION } from '../../api/version.ts';
import { goArch } from '../../lib/platform.ts';
import type { ContentStore, Descriptor } from '../../store/content/store.ts';
import { MEDIA } from '../../distribution/media.ts';

export interface ChildStep {
  created: string;
  author?: string;
  /** The image's comment (commit -m), also on its history line. */
  comment?: string;
  config: Partial<ContainerConfig>;
  containerConfig: Partial<ContainerConfig>;
  /** The container a commit was made from. */
  container?: string;
  createdBy: string;
  /** The new layer's diff ID; none for a step that only changes the config. */
  diffId?: string;
}

export function childConfig(prev: ImageConfigFile | undefined, s: ChildStep): ImageConfigFile {
  return {
    architecture: prev?.architecture ?? goArch(),
    os: prev?.os ?? 'linux',
    ...(prev?.variant ? { variant: prev.variant } : {}),
    created: s.created,
    ...(s.author ? { author: s.author } : {}),
    ...(s.comment ? { comment: s.comment } : {}),
    config: s.config,
    ...(s.container ? { container: s.container } : {}),
    container_config: s.containerConfig,
    docker_version: ENGINE_VERSION,
    rootfs: { type: 'layers', diff_ids: [...(prev?.rootfs.diff_ids ?? []), ...(s.diffId ? [s.diffId] : [])] },
    history: [...(prev?.history ?? []), {
      created: s.created,
      ...(s.author ? { author: s.author } : {}),
      created_by: s.createdBy,
      ...(s.comment ? { comment: s.comment } : {}),
      ...(s.diffId ? {} : { empty_layer: true }),
    }],
  };
}

/**
 * Writes the config and a manifest listing the parent's layers (from its manifest) and `layer`
 * if there is one; returns both blobs' digests.
 */
export async function writeChild(content: ContentStore, parentManifest: string | undefined, config: ImageConfigFile, layer?: Descriptor): Promise<{ config: string; manifest: string }> {
  const cfg = await content.write(Buffer.from(JSON.stringify(config)));
  const prevLayers = parentManifest ? ((await content.readJson(parentManifest)) as { layers: Descriptor[] }).layers : [];
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA.ociManifest,
    config: { mediaType: MEDIA.ociConfig, digest: cfg.digest, size: cfg.size },
    layers: layer ? [...prevLayers, layer] : prevLayers,
  };
  const man = await content.write(Buffer.from(JSON.stringify(manifest)));
  return { config: cfg.digest, manifest: man.digest };
}
