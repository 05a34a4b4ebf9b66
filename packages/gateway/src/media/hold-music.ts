/**
 * The hold music file is opened by rtpengine, not by the gateway, so the gateway cannot know that it exists: a
 * rtpengine on another host (or in a container) sees its own file system. Only when rtpengine is reached on a
 * loopback address is a file missing here worth a warning at start, and even then it may be in rtpengine's
 * container; otherwise the first hold says so (rtpengine refuses the play).
 */
import { accessSync, constants } from 'node:fs';
import type { Logger } from 'pino';
import type { RtpengineConfig } from '../config/types.js';

export function warnOfMissingHoldMusic(config: RtpengineConfig, logger: Pick<Logger, 'warn'>): void {
  const file = config.holdMusic;
  if (file === undefined || !isLoopback(config.host) || isReadable(file)) return;
  logger.warn(
    { file, rtpengine: `${config.host}:${config.port}` },
    'the hold music file is not readable on this host: unless rtpengine runs in a container that has it, held calls will be silent',
  );
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isReadable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
