/**
 * Ads: click reports and offline-conversion exports in Elephant's ads JSON. A click lands on
 * the shop with the visitor's cookie (landingAnonymousId); a conversion names the click and
 * the buyer's hashed e-mail. Reports arrive hours after the click.
 */
import { AD_CAMPAIGNS, PAGES, SHOP_URL } from '../catalog.ts';
import { conversionScope } from '@elephant/channels';
import { HOUR, id, SECOND, seconds, sha256, type AdClick, type Device, type PersonContext } from '../context.ts';
import { base64Chars, decimal, isoSeconds } from '../format.ts';
import { page } from './web.ts';

/** An ad click landing on `device`; returns the landing time. */
export function adClick(ctx: PersonContext, device: Device, time: number, userId: string | null): number {
  const random = ctx.random;
  const campaign = random.pick(AD_CAMPAIGNS);
  const at = seconds(time);
  const clickId = campaign.platform === 'google_ads' ? `Cj0KCQiA${base64Chars(random, 40)}BwE` : campaign.platform === 'meta_ads' ? `IwAR${base64Chars(random, 44)}` : random.hex(32);
  const parameter = campaign.platform === 'google_ads' ? 'gclid' : campaign.platform === 'meta_ads' ? 'fbclid' : 'msclkid';
  const landing = random.pick(PAGES);
  const payload = {
    type: 'click',
    platform: campaign.platform,
    clickId,
    occurredAt: isoSeconds(at),
    campaignId: campaign.campaignId,
    campaignName: campaign.campaignName,
    adGroupId: campaign.adGroupId,
    adId: campaign.adId,
    medium: campaign.medium,
    source: campaign.source,
    device: device.kind === 'mobile' ? 'mobile' : 'desktop',
    landingAnonymousId: device.anonymousId,
    landingUrl: `${SHOP_URL}${landing.path}?${parameter}=${clickId}`,
  };
  // Click reports are exported hours after the click: the landing page is usually there first.
  ctx.emit({ channel: 'ads', payload, time: at, sourceEventId: clickId, eventType: 'ad_clicked', identifiers: [id('click_id', clickId), id('anonymous_id', device.anonymousId)], lag: random.between(HOUR, 6 * HOUR), platform: campaign.platform });
  ctx.clicks.push({ clickId, platform: campaign.platform, campaign, at });
  const landed = at + random.between(1_000, 4_000);
  page(ctx, device, landed, userId, landing, {
    campaign: { name: campaign.campaignName.toLowerCase().replace(/[^a-z0-9]+/g, '_'), source: campaign.source, medium: campaign.medium },
    query: `utm_source=${campaign.source}&utm_medium=${campaign.medium}&${parameter}=${clickId}`,
    referrer: campaign.source === 'google' ? 'https://www.google.com/' : campaign.source === 'bing' ? 'https://www.bing.com/' : 'https://l.facebook.com/',
  });
  return landed + random.between(10, 60) * SECOND;
}

export function adConversion(ctx: PersonContext, click: AdClick, time: number, orderId: string, totalMinor: number, email: string): void {
  const at = seconds(time);
  if (at >= ctx.world.end) return;
  const conversionId = `conv-${orderId}`;
  const payload = {
    type: 'conversion',
    platform: click.platform,
    clickId: click.clickId,
    occurredAt: isoSeconds(at),
    campaignId: click.campaign.campaignId,
    adId: click.campaign.adId,
    conversion: { id: conversionId, name: 'Purchase', value: decimal(totalMinor), currency: ctx.person.currency, orderId },
    hashedEmail: sha256(email),
  };
  ctx.emit({
    channel: 'ads',
    payload,
    time: at,
    sourceEventId: conversionId,
    sourceEventScope: conversionScope(payload.conversion.name, at),
    eventType: 'ad_converted',
    identifiers: [id('click_id', click.clickId), id('email_sha256', sha256(email))],
    lag: ctx.random.between(2 * HOUR, 24 * HOUR),
    platform: click.platform,
  });
}
