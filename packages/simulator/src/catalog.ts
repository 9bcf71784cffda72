/**
 * The simulated world: a US/Canadian outdoor-apparel retailer ("Elephant Outfitters") with a
 * web shop and an app, eight stores, a loyalty programme, e-mail marketing on SendGrid, ads on
 * three platforms, a contact centre and a CRM. Names and values only; no randomness here.
 */

export const BRAND = 'Elephant Outfitters';
export const SHOP_URL = 'https://shop.elephant-outfitters.example';
export const LOYALTY_PROGRAM = 'elephant-rewards';

export const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan',
  'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Chris', 'Karen', 'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Sandra', 'Mark', 'Ashley', 'Steven',
  'Emily', 'Andrew', 'Michelle', 'Joshua', 'Amanda', 'Kevin', 'Melissa', 'Brian', 'Stephanie', 'Wei', 'Priya', 'Carlos', 'Sofia', 'Mateo', 'Aisha',
  'Omar', 'Hannah', 'Noah', 'Chloe', 'Liam', 'Zoe', 'Ethan', 'Maya', 'Lucas', 'Olivia', 'Mia', 'Jamal', 'Keisha', 'Hiro', 'Yuki', 'Ana',
] as const;

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson',
  'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis',
  'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores', 'Green', 'Adams', 'Nelson', 'Baker',
  'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Chen', 'Patel', 'Kim', 'Tremblay', 'Roy', 'Gagnon', 'Wong', 'Singh', 'Okafor',
] as const;

export const PERSONAL_DOMAINS: Readonly<Record<'US' | 'CA', readonly string[]>> = {
  US: ['gmail.com', 'yahoo.com', 'outlook.com', 'hotmail.com', 'icloud.com', 'aol.com', 'comcast.net', 'proton.me'],
  CA: ['gmail.com', 'outlook.com', 'rogers.com', 'shaw.ca', 'sympatico.ca', 'icloud.com', 'yahoo.ca'],
};

export const WORK_DOMAINS = ['acmecorp.io', 'globex-corp.com', 'initech.co', 'umbrella-labs.com', 'hooli.xyz', 'piedpiper.net', 'vandelay-industries.com', 'dundermifflin.co'] as const;

/** A mistyped domain for each personal domain: the address is then a different, undeliverable one. */
export const DOMAIN_TYPOS: Readonly<Record<string, string>> = {
  'gmail.com': 'gmial.com',
  'yahoo.com': 'yaho.com',
  'outlook.com': 'outlok.com',
  'hotmail.com': 'hotmial.com',
  'icloud.com': 'icloud.co',
  'aol.com': 'aol.co',
  'comcast.net': 'comcast.ner',
  'proton.me': 'proton.mr',
  'rogers.com': 'rogers.cm',
  'shaw.ca': 'shaw.ac',
  'sympatico.ca': 'sympatico.ac',
  'yahoo.ca': 'yaho.ca',
};

export const AREA_CODES: Readonly<Record<'US' | 'CA', readonly string[]>> = {
  US: ['206', '212', '213', '303', '305', '312', '404', '415', '503', '512', '602', '617', '646', '702', '713', '718', '720', '773', '858', '917'],
  CA: ['416', '647', '604', '778', '514', '403'],
};

export interface Place {
  readonly city: string;
  readonly state: string;
  /** Postal code prefix. */
  readonly zip: string;
  /** UTC offset of local time, in minutes (fixed: daylight saving is left out). */
  readonly offsetMinutes: number;
  /** The store people there shop at, if the city has one. */
  readonly store: string | null;
}

export const CITIES: Readonly<Record<'US' | 'CA', readonly Place[]>> = {
  US: [
    { city: 'San Francisco', state: 'CA', zip: '941', offsetMinutes: -480, store: 'sf-union-square' },
    { city: 'New York', state: 'NY', zip: '100', offsetMinutes: -300, store: 'nyc-soho' },
    { city: 'Chicago', state: 'IL', zip: '606', offsetMinutes: -360, store: 'chi-michigan-ave' },
    { city: 'Seattle', state: 'WA', zip: '981', offsetMinutes: -480, store: 'sea-pike-place' },
    { city: 'Austin', state: 'TX', zip: '787', offsetMinutes: -360, store: 'atx-domain' },
    { city: 'Boston', state: 'MA', zip: '021', offsetMinutes: -300, store: 'bos-newbury' },
    { city: 'Denver', state: 'CO', zip: '802', offsetMinutes: -420, store: null },
  ],
  CA: [
    { city: 'Toronto', state: 'ON', zip: 'M5V', offsetMinutes: -300, store: 'tor-queen-west' },
    { city: 'Vancouver', state: 'BC', zip: 'V6B', offsetMinutes: -480, store: 'van-robson' },
  ],
};

export const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Pine St', 'Elm St', 'Lake Rd', 'Hill St', 'Park Ave', 'River Rd', 'Sunset Blvd', 'King St W'] as const;

export interface Store {
  readonly id: string;
  readonly country: 'US' | 'CA';
  readonly currency: 'USD' | 'CAD';
  /** Fixed UTC offset of the till's clock, in minutes. */
  readonly offsetMinutes: number;
  readonly terminals: number;
  /** The till software leaves `currency` out when it is the deployment's DEFAULT_CURRENCY. */
  readonly omitsHouseCurrency: boolean;
}

export const STORES: readonly Store[] = [
  { id: 'sf-union-square', country: 'US', currency: 'USD', offsetMinutes: -480, terminals: 4, omitsHouseCurrency: false },
  { id: 'nyc-soho', country: 'US', currency: 'USD', offsetMinutes: -300, terminals: 6, omitsHouseCurrency: true },
  { id: 'chi-michigan-ave', country: 'US', currency: 'USD', offsetMinutes: -360, terminals: 3, omitsHouseCurrency: false },
  { id: 'sea-pike-place', country: 'US', currency: 'USD', offsetMinutes: -480, terminals: 3, omitsHouseCurrency: true },
  { id: 'atx-domain', country: 'US', currency: 'USD', offsetMinutes: -360, terminals: 2, omitsHouseCurrency: true },
  { id: 'bos-newbury', country: 'US', currency: 'USD', offsetMinutes: -300, terminals: 3, omitsHouseCurrency: false },
  { id: 'tor-queen-west', country: 'CA', currency: 'CAD', offsetMinutes: -300, terminals: 4, omitsHouseCurrency: true },
  { id: 'van-robson', country: 'CA', currency: 'CAD', offsetMinutes: -480, terminals: 3, omitsHouseCurrency: false },
];

export interface Product {
  readonly id: string;
  readonly sku: string;
  readonly name: string;
  readonly category: string;
  /** Price in cents, USD. */
  readonly usd: number;
  /** Price in cents, CAD. */
  readonly cad: number;
}

const product = (id: string, sku: string, name: string, category: string, usd: number): Product => ({ id, sku, name, category, usd, cad: Math.round((usd * 1.36) / 100) * 100 - 1 });

export const PRODUCTS: readonly Product[] = [
  product('p-1001', '70431-01', 'Trailblazer Rain Jacket', 'Jackets', 18900),
  product('p-1002', '70431-02', 'Summit Down Parka', 'Jackets', 32900),
  product('p-1003', '70431-03', 'Featherlite Windbreaker', 'Jackets', 9900),
  product('p-1101', '51220-10', 'Ridgeline Hiking Boot', 'Footwear', 16900),
  product('p-1102', '51220-11', 'Tempo Trail Runner', 'Footwear', 13900),
  product('p-1103', '51220-12', 'Basecamp Slip-On', 'Footwear', 7900),
  product('p-1201', '33012-20', 'Merino Base Layer Top', 'Base Layers', 8900),
  product('p-1202', '33012-21', 'Merino Leggings', 'Base Layers', 7900),
  product('p-1203', '33012-22', 'Wool Hiking Socks (3-pack)', 'Base Layers', 2999),
  product('p-1301', '82110-30', 'Daypack 24L', 'Packs', 11900),
  product('p-1302', '82110-31', 'Expedition Pack 65L', 'Packs', 27900),
  product('p-1303', '82110-32', 'Hip Pack', 'Packs', 4500),
  product('p-1401', '90441-40', 'Two-Person Tent', 'Camping', 34900),
  product('p-1402', '90441-41', 'Down Sleeping Bag', 'Camping', 24900),
  product('p-1403', '90441-42', 'Camp Stove', 'Camping', 8999),
  product('p-1404', '90441-43', 'Insulated Bottle 1L', 'Camping', 3499),
  product('p-1501', '12001-50', 'Organic Cotton Tee', 'Apparel', 3200),
  product('p-1502', '12001-51', 'Stretch Hiking Pants', 'Apparel', 8900),
  product('p-1503', '12001-52', 'Fleece Hoodie', 'Apparel', 9900),
  product('p-1504', '12001-53', 'Sun Hat', 'Accessories', 3900),
  product('p-1505', '12001-54', 'Polarized Sunglasses', 'Accessories', 12900),
  product('p-1601', '66770-60', 'Headlamp 400lm', 'Electronics', 4999),
  product('p-1602', '66770-61', 'GPS Watch', 'Electronics', 29900),
  product('p-1603', '66770-62', 'Solar Charger', 'Electronics', 7900),
];

export const PAGES = [
  { path: '/', name: 'Home', title: 'Elephant Outfitters: gear for every trail' },
  { path: '/collections/new', name: 'Collection', title: 'New arrivals' },
  { path: '/collections/sale', name: 'Collection', title: 'Sale' },
  { path: '/stores', name: 'Store Locator', title: 'Find a store' },
  { path: '/blog/layering-101', name: 'Blog', title: 'Layering 101' },
  { path: '/blog/best-day-hikes', name: 'Blog', title: 'The best day hikes near you' },
  { path: '/rewards', name: 'Rewards', title: 'Elephant Rewards' },
  { path: '/help/returns', name: 'Help', title: 'Returns and exchanges' },
] as const;

export const APP_SCREENS = ['Home', 'Search', 'Product Detail', 'Cart', 'Rewards', 'Order History', 'Store Mode'] as const;

export interface EmailCampaign {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly asmGroupId: number;
}

export const WELCOME_SERIES: readonly EmailCampaign[] = [
  { id: 'wel-1', name: 'Welcome 1: Hello from the herd', category: 'welcome', asmGroupId: 101 },
  { id: 'wel-2', name: 'Welcome 2: Gear guides', category: 'welcome', asmGroupId: 101 },
  { id: 'wel-3', name: 'Welcome 3: Your first order, 10% off', category: 'welcome', asmGroupId: 101 },
];

export const RETENTION_CAMPAIGNS: readonly EmailCampaign[] = [
  { id: 'ret-1', name: 'We miss you', category: 'winback', asmGroupId: 103 },
  { id: 'ret-2', name: 'Your points are waiting', category: 'loyalty', asmGroupId: 104 },
  { id: 'ret-3', name: 'How was your order?', category: 'review-request', asmGroupId: 103 },
];

export const AD_CAMPAIGNS = [
  { platform: 'google_ads', source: 'google', medium: 'cpc', campaignId: '20938475', campaignName: 'Brand Search', adGroupId: '1408', adId: '69811203' },
  { platform: 'google_ads', source: 'google', medium: 'cpc', campaignId: '20938476', campaignName: 'Shopping: Jackets', adGroupId: '1409', adId: '69811207' },
  { platform: 'meta_ads', source: 'facebook', medium: 'paid_social', campaignId: '23851234', campaignName: 'Prospecting: Lookalike', adGroupId: '23851301', adId: '23851377' },
  { platform: 'meta_ads', source: 'instagram', medium: 'paid_social', campaignId: '23851235', campaignName: 'Retargeting: Cart', adGroupId: '23851302', adId: '23851378' },
  { platform: 'microsoft_ads', source: 'bing', medium: 'cpc', campaignId: '41920011', campaignName: 'Generic: Hiking Boots', adGroupId: '1302', adId: '7800021' },
] as const;

export const DOWNLOADS = [
  { id: 'guide-gear-care', title: 'The Gear Care Guide', kind: 'ebook' },
  { id: 'plan-trail-10k', title: '12-week trail running plan', kind: 'guide' },
  { id: 'size-chart', title: 'Size chart (PDF)', kind: 'document' },
  { id: 'lookbook-2025', title: 'Lookbook 2025', kind: 'ebook' },
] as const;

export const FORMS = [
  { id: 'newsletter-signup', title: 'Get 10% off your first order' },
  { id: 'webinar-layering', title: 'Webinar: layering for winter' },
  { id: 'event-rsvp-cleanup', title: 'RSVP: trail clean-up day' },
  { id: 'gear-guide-gated', title: 'Download the gear guide' },
] as const;

export const SUPPORT_TOPICS = [
  { reason: 'delivery late', resolution: 'shipment traced, delivered next day', queue: 'orders' },
  { reason: 'wrong size', resolution: 'exchange label sent', queue: 'returns' },
  { reason: 'refund status', resolution: 'refund confirmed', queue: 'returns' },
  { reason: 'product question', resolution: 'answered', queue: 'sales' },
  { reason: 'account access', resolution: 'password reset', queue: 'accounts' },
  { reason: 'damaged item', resolution: 'replacement shipped', queue: 'orders' },
  { reason: 'rewards balance', resolution: 'points adjusted', queue: 'loyalty' },
] as const;

export const COUPONS = ['WELCOME10', 'SPRING20', 'FREESHIP', 'REWARDS15', 'BDAY25', 'TRAIL5'] as const;

export const USER_AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:122.0) Gecko/20100101 Firefox/122.0',
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36',
] as const;

export const MOBILE_USER_AGENTS = [
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36',
] as const;

export const PHONE_MODELS = [
  { manufacturer: 'Apple', model: 'iPhone15,2', type: 'ios', os: 'iOS', osVersion: '17.3' },
  { manufacturer: 'Apple', model: 'iPhone14,5', type: 'ios', os: 'iOS', osVersion: '17.2' },
  { manufacturer: 'Google', model: 'Pixel 8', type: 'android', os: 'Android', osVersion: '14' },
  { manufacturer: 'samsung', model: 'SM-S911U', type: 'android', os: 'Android', osVersion: '14' },
] as const;

export const TABLET_MODELS = [
  { manufacturer: 'Apple', model: 'iPad13,1', type: 'ios', os: 'iPadOS', osVersion: '17.3' },
  { manufacturer: 'samsung', model: 'SM-X710', type: 'android', os: 'Android', osVersion: '14' },
] as const;
