import { ChannelError } from './errors.ts';
import { parseJson } from './fields.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, type Adapter, type AdapterContext, type AdapterResult } from './context.ts';
import { isChannel, type Channel } from './vocabulary.ts';
import { adaptWeb } from './adapters/web.ts';
import { adaptEmail } from './adapters/email.ts';
import { adaptAds } from './adapters/ads.ts';
import { adaptPos } from './adapters/pos.ts';
import { adaptSupport } from './adapters/support.ts';
import { adaptCrm } from './adapters/crm.ts';
import { adaptLoyalty } from './adapters/loyalty.ts';
import { adaptContent } from './adapters/content.ts';

/** The adapter of each channel: parsed JSON in, touchpoints or an error out; none throws. */
export const ADAPTERS: Readonly<Record<Channel, Adapter>> = {
  web: adaptWeb,
  email: adaptEmail,
  ads: adaptAds,
  pos: adaptPos,
  support: adaptSupport,
  crm: adaptCrm,
  loyalty: adaptLoyalty,
  content: adaptContent,
};

// fatal: invalid UTF-8 is an error, not silently replaced characters.
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A raw Kafka record value → touchpoints. Checks the size (MESSAGE_TOO_LARGE, before any
 * parsing work), decodes UTF-8 and parses JSON (INVALID_JSON), then runs `channel`'s adapter.
 * Never throws for any input bytes.
 * @throws RangeError only when `channel` is not a channel (a configuration bug)
 */
export function adaptMessage(channel: Channel, bytes: Uint8Array, context: AdapterContext): AdapterResult {
  if (!isChannel(channel)) throw new RangeError(`Unknown channel ${JSON.stringify(channel)}`);
  const limit = context.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.byteLength > limit) {
    return { ok: false, error: new ChannelError('MESSAGE_TOO_LARGE', `Message of ${bytes.byteLength} bytes exceeds the limit of ${limit} bytes`, { details: { size: bytes.byteLength, limit } }) };
  }
  let value: unknown;
  try {
    value = parseJson(decoder.decode(bytes));
  } catch (error) {
    const problem = error instanceof TypeError ? 'is not valid UTF-8' : `is not valid JSON (${(error as Error).message})`;
    return { ok: false, error: new ChannelError('INVALID_JSON', `Message ${problem}`, { cause: error }) };
  }
  try {
    return ADAPTERS[channel](value, context);
  } catch (error) {
    // Adapters catch their own throws; this is the last guard, so that no input ever throws here.
    return { ok: false, error: new ChannelError('ADAPTER_FAILED', `Adapter failed on the message: ${error instanceof Error ? error.message : String(error)}`, { cause: error }) };
  }
}
