/** Raw messages in each channel's format (see docs/channels.md), a few per channel. */
import type { Channel } from '@elephant/channels';

export function segmentTrack(messageId: string, anonymousId: string, padding = ''): string {
  return JSON.stringify({
    type: 'track',
    event: 'Product Viewed',
    messageId,
    anonymousId,
    timestamp: '2026-11-01T10:00:00.000Z',
    context: { userAgent: 'Mozilla/5.0', page: { url: 'https://shop.example/p/42' } },
    properties: { product_id: 'p-42', name: 'Trail shoe', category: 'shoes', price: 89.9, currency: 'USD', note: padding },
  });
}

const at = '2026-11-02T09:30:00Z';

export const CHANNEL_SAMPLES: Record<Channel, string[]> = {
  web: [
    segmentTrack('web-1', 'anon-1'),
    JSON.stringify({ type: 'identify', messageId: 'web-2', anonymousId: 'anon-1', userId: 'u-1', timestamp: at, traits: { email: 'Ada@Example.com', firstName: 'Ada' } }),
    JSON.stringify({
      type: 'track',
      event: 'Order Completed',
      messageId: 'web-3',
      userId: 'u-1',
      timestamp: at,
      properties: { order_id: 'o-1', total: 89.9, currency: 'USD', products: [{ product_id: 'p-42', name: 'Trail shoe', price: 89.9, quantity: 1 }] },
    }),
  ],
  email: [
    JSON.stringify([
      { email: 'ada@example.com', timestamp: 1793604600, event: 'delivered', sg_event_id: 'sg-1', sg_message_id: 'msg-1' },
      { email: 'ada@example.com', timestamp: 1793604700, event: 'open', sg_event_id: 'sg-2', sg_message_id: 'msg-1' },
      { email: 'ada@example.com', timestamp: 1793604800, event: 'click', sg_event_id: 'sg-3', sg_message_id: 'msg-1', url: 'https://shop.example/sale' },
    ]),
  ],
  ads: [
    JSON.stringify({ type: 'click', platform: 'google', clickId: 'gclid-1', campaignId: 'c-9', adId: 'ad-3', landingAnonymousId: 'anon-1', occurredAt: at }),
  ],
  pos: [
    JSON.stringify({
      type: 'purchase',
      id: 'txn-1',
      occurredAt: at,
      storeId: 'store-7',
      cashierId: 'cashier-2',
      loyaltyCard: 'LC-0001',
      paymentFingerprint: 'fp-abc',
      currency: 'USD',
      lineItems: [{ productId: 'p-42', name: 'Trail shoe', quantity: 1, unitPrice: 89.9 }],
      total: 89.9,
    }),
  ],
  support: [JSON.stringify({ type: 'call', id: 'call-1', occurredAt: at, callerPhone: '+1 415 555 0100', agent: 'agent-5', reason: 'delivery', resolution: 'resolved', satisfactionScore: 5 })],
  crm: [JSON.stringify({ type: 'created', id: 'crm-evt-1', occurredAt: at, contact: { id: 'crm-1', firstName: 'Ada', lastName: 'Lovelace', emails: ['ada@example.com'], phones: ['(415) 555-0100'], owner: 'rep-1' } })],
  loyalty: [JSON.stringify({ type: 'coupon', id: 'red-1', occurredAt: at, loyaltyCard: 'LC-0001', couponCode: 'WELCOME10' })],
  content: [JSON.stringify({ type: 'download', id: 'dl-1', occurredAt: at, anonymousId: 'anon-1', email: 'ada@example.com', contentId: 'wp-1', contentTitle: 'Trail running guide' })],
};
