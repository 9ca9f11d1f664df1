/**
 * BERTH_DEFAULT_PLATFORM / DOCKER_DEFAULT_PLATFORM: the default of --platform for run, create,
 * pull, build and import, as the docker CLI's AddPlatformFlag and build take it (inspect, push
 * and the others keep none, as docker's).
 */
export function platformDefault(): { default?: string } {
  const v = process.env.BERTH_DEFAULT_PLATFORM || process.env.DOCKER_DEFAULT_PLATFORM;
  return v ? { default: v } : {};
}
