// The demo company's behaviour, stated as a model: every parameter the
// generator draws from lives here, and each run writes them into its
// ground-truth file. Times are in days unless a name says otherwise.
//
// Repeat buying follows BG/NBD (Fader, Hardie & Lee 2005): while alive, a
// customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha), and
// after each purchase, the first included, drops out with probability
// p ~ Beta(a, b). Dropping out after the first purchase makes it the modified
// BG/NBD (MBG/NBD, Batislam, Denizel & Filiztekin 2007). Spend per
// order follows the Gamma-Gamma model: z ~ Gamma(p, nu) with
// nu ~ Gamma(q, gamma), so a customer's mean spend is p / nu. The spend
// parameters are the published CDNOW estimates, in the shop's currency.

export const DEMO_MODEL = {
  /** Acquisition: the share of sign-ups per channel at the start and at the end of the history (linear in between). */
  channelMix: {
    start: { organic: 40, paid_search: 20, social: 15, email: 10, referral: 15 },
    end: { organic: 30, paid_search: 30, social: 20, email: 5, referral: 15 },
  },
  /** Sign-ups per day ~ (1 + growth * elapsed share) * (1 + amplitude * cos(2 pi (day of year - peak) / 365)). */
  acquisition: { growth: 0.6, seasonalAmplitude: 0.35, peakDayOfYear: 330 },

  /** Funnel: prospect -> lead (share and delay), lead -> first purchase (share and delay), per channel. */
  funnel: {
    leadShare: { organic: 0.7, paid_search: 0.8, social: 0.6, email: 0.75, referral: 0.9 },
    daysToLead: 4,
    firstPurchaseShare: { organic: 0.75, paid_search: 0.7, social: 0.6, email: 0.8, referral: 0.9 },
    daysToFirstPurchase: 10,
    leadTypes: { sign_up: 70, consultation: 20, quote: 10 },
    /** An unconverted lead is closed as lost after this many days. */
    leadLostAfterDays: 60,
  },

  /** BG/NBD purchase rate per day, lambda ~ Gamma(shape r, rate alpha). Mean r / alpha = one order every 12.5 days. */
  purchaseRate: { r: 2, alpha: 25 },
  /** BG/NBD drop-out probability after each purchase, p ~ Beta(a, b). Mean a / (a + b) = 0.04. */
  dropout: { a: 1, b: 24 },
  /** A share of buyers buy on a steady rhythm (replenishment) instead, every rhythmDays +- jitter. */
  replenishment: { share: 0.15, rhythmDays: { min: 21, max: 90 }, jitter: 0.1, dropout: 0.04 },
  /** Gamma-Gamma spend (CDNOW, Fader, Hardie & Lee 2005): z ~ Gamma(p, nu), nu ~ Gamma(q, gamma). */
  spend: { p: 6.25, q: 3.74, gamma: 15.44 },

  orders: {
    /** Share of orders cancelled before payment, and of paid orders refunded later. */
    cancelledShare: 0.03,
    refundedShare: 0.05,
    daysToRefund: 12,
    discountShare: 0.2,
    discountRate: 0.1,
    maxItems: 5,
    currency: 'EUR',
    paymentMethods: { card: 60, paypal: 25, bank_transfer: 10, gift_card: 5 },
  },

  /** Referrals: at each repeat order from the second on, a live customer invites someone with this probability. */
  referrals: { inviteShare: 0.12, daysToJoin: 20, maxPendingInvites: 200_000 },

  /** Reviews: a paid order that is not refunded gets one with this probability, some days later; stars by weight. */
  reviews: { share: 0.04, daysToReview: 7, stars: { '5': 50, '4': 25, '3': 10, '2': 5, '1': 10 } },

  /**
   * Support tickets: a paid order leads to one with the first probability, a
   * refunded order with the second, some days after the order. Solved after
   * an exponential time (hours), closed (locked) a few days after; the
   * customer rates a solved ticket with ratedShare, by weight (refunds are
   * rated worse). Tickets change nobody's buying: any link to lapsing in the
   * reports comes through the refunds behind them.
   */
  support: {
    ticketShare: 0.04,
    ticketShareWhenRefunded: 0.5,
    daysToTicket: 3,
    topics: { delivery: 40, product: 30, billing: 15, account: 15 },
    topicWhenRefunded: 'refund',
    hoursToSolve: 20,
    daysToClose: 4,
    ratedShare: 0.4,
    ratings: { '5': 45, '4': 25, '3': 12, '2': 8, '1': 10 },
    ratingsWhenRefunded: { '5': 15, '4': 15, '3': 20, '2': 20, '1': 30 },
  },

  /**
   * Marketing spend, booked per month, in the shop's currency: acquisition per
   * sign-up of each channel (ads, content, list building, the referral
   * reward), retention per campaign email sent (the email tool, creative and
   * the perks and offers that go with it). With the funnel above, a new buyer
   * costs about 19 (organic) to 194 (social); on the demo's 5,000 people
   * winning a customer costs about 15 times keeping one, inside the 5 to 25
   * times the marketing literature quotes.
   */
  marketingSpend: {
    acquisitionPerSignUp: { organic: 10, paid_search: 90, social: 70, email: 25, referral: 50 },
    retentionPerEmailSent: 2,
  },

  web: {
    /** Browsing sessions without a purchase, per 30 days while interested. */
    browseSessionsPer30Days: 0.2,
    /** Anonymous visits before signing up. */
    visitsBeforeSignUp: { min: 1, max: 2 },
    /**
     * A session without one is a bounce (the home page only), or a purchase
     * from a link or the basket; with the rest, a person brings about 50 web
     * events over three years, the volume the benchmark's targets are stated for.
     */
    productViewsPerSession: { min: 0, max: 2 },
    /** Sessions of a signed-up person that begin with a login; in the others the shop still knows the browser. */
    loginShare: 0.25,
    devices: { desktop: 50, mobile: 42, tablet: 8 },
    /** Share of people using a second device (a second anonymous id). */
    secondDeviceShare: 0.3,
  },

  email: {
    /** One campaign to every subscriber every this many days; types in rotation. */
    campaignEveryDays: 42,
    campaignTypes: ['newsletter', 'promo', 'newsletter', 'reminder'],
    consentShare: 0.75,
    openShare: 0.35,
    clickShareOfOpens: 0.25,
    /** Engagement fades linearly over the days before a customer drops out, down to this factor. */
    fadeDays: 120,
    fadedEngagement: 0.15,
    /** Prospects who never buy open less. */
    nonBuyerEngagement: 0.5,
    unsubscribeShare: 0.004,
    unsubscribeShareWhenFaded: 0.02,
    complaintShare: 0.0005,
    /** A share of addresses bounce hard (then are never mailed again); others bounce softly now and then. */
    hardBounceShare: 0.02,
    softBounceShare: 0.01,
  },

  people: {
    countries: { DE: 30, FR: 20, GB: 20, NL: 10, US: 20 },
    genders: { female: 48, male: 46, diverse: 2, '': 4 },
    birthYears: { min: 1950, max: 2006 },
    owners: ['anna.koch', 'marc.leroy', 'sam.patel', 'unassigned'],
    /** People whose contact has social handles (one or two networks, by weight). */
    socialHandleShare: 0.35,
    socialNetworks: { instagram: 50, tiktok: 30, x: 20 },
    /** People whose contact has the shop's custom properties: a preferred store (their city's, or online) and a loyalty card. */
    customPropertiesShare: 0.5,
    onlineStoreShare: 0.4,
    loyaltyCardShare: 0.3,
  },
} as const;

/**
 * Data-quality warts, each a share of rows or people, as a real company's
 * exports have them. Every one is counted in the ground truth.
 */
export const DEMO_WARTS = {
  /** People with a second (or third) CRM contact, its email in another case or with spaces; later orders go to it. */
  duplicateContactShare: 0.06,
  /** Web events that reach the export days late (written to a later day's file). */
  lateWebEventShare: 0.02,
  lateWebEventMaxDays: 5,
  /** Timestamps written with a local UTC offset instead of Z (same instant). */
  localOffsetShare: 0.1,
  /** Test and internal accounts (staff, QA) among sign-ups; they order too. */
  internalAccountShare: 0.01,
  /** Orders in a second currency, with the exchange rate used. */
  secondCurrencyShare: 0.08,
  secondCurrency: 'GBP',
  /** GBP per EUR. */
  secondCurrencyRate: 0.86,
  /** Malformed rows added to every export (a bad date, a bad number, a missing key, a broken line). */
  malformedRowShare: 0.0005,
} as const;

export type DemoModel = typeof DEMO_MODEL;
export type DemoWarts = typeof DEMO_WARTS;
