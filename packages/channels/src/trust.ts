/**
 * Source trust: how far identity resolution may rely on the identifiers a source asserts
 * (0-100). The scale, from strongest:
 * - 90 `pos`: identifiers presented in person — payment card, loyalty card at the till.
 * - 85 `loyalty`: an enrolled member's card or account.
 * - 80 `sendgrid` (ESP): the event proves the mailbox exists and, for opens and clicks, that
 *   its holder reads it; lists are typically double opt-in.
 * - 70 `segment` (web/app): a logged-in user id is authenticated; anonymous ids are per device.
 * - 60 `support`: captured by an agent or from caller ID, which can be withheld or shared.
 * - 50 `crm`: typed in by staff; typos and stale records are common.
 * - 40 `content`: self-declared in a form, unverified.
 * - 30 ad platforms: attribution by click id, reported by a third party.
 * A deployment overrides any entry (AdapterContext.trust) when its systems differ.
 */
import type { Channel } from './vocabulary.ts';

/** The source system an adapter reports when the deployment names none. */
export const DEFAULT_SOURCE_SYSTEMS: Readonly<Record<Channel, string>> = {
  web: 'segment',
  email: 'sendgrid',
  ads: 'ads',
  pos: 'pos',
  support: 'support',
  crm: 'crm',
  loyalty: 'loyalty',
  content: 'content',
};

/** Default trust per source system. */
export const DEFAULT_SOURCE_TRUST: Readonly<Record<string, number>> = {
  pos: 90,
  loyalty: 85,
  sendgrid: 80,
  segment: 70,
  support: 60,
  crm: 50,
  content: 40,
  ads: 30,
  google_ads: 30,
  meta_ads: 30,
  microsoft_ads: 30,
  tiktok_ads: 30,
  linkedin_ads: 30,
};

/** Trust of a source system no table names: its channel's default system's trust. */
export const CHANNEL_DEFAULT_TRUST: Readonly<Record<Channel, number>> = {
  web: 70,
  email: 80,
  ads: 30,
  pos: 90,
  support: 60,
  crm: 50,
  loyalty: 85,
  content: 40,
};

export function isValidTrust(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 100;
}

/** The trust of `system` on `channel`: the override, else the default table, else the channel default. */
export function sourceTrust(channel: Channel, system: string, overrides: Readonly<Record<string, number>> = {}): number {
  const override = Object.hasOwn(overrides, system) ? overrides[system] : undefined;
  if (override !== undefined && isValidTrust(override)) return override;
  return (Object.hasOwn(DEFAULT_SOURCE_TRUST, system) ? DEFAULT_SOURCE_TRUST[system] : undefined) ?? CHANNEL_DEFAULT_TRUST[channel];
}
