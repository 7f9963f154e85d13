"""The carriers every installation starts with.

Channel codes are the names each channel's own contract uses: Shopify's list of supported
tracking companies (`FulfillmentTrackingInfo.company`), BigCommerce's `shipping_provider` enum
(Orders v2 shipments), the Amazon carrier names that appear in SP-API examples (`confirmShipment`
`carrierCode`, Orders 2026-01-01 package `carrier`, Shipping v2 `carrierId`), and eBay's
best-known `shippingCarrierCode` values. A channel is left out where its contract does not name
the carrier; connectors then fall back to the channel's "other carrier" form with our name.

`data_courier_codes` claims formats of the tracking-number data only where they cover the numbers
a carrier really issues, because a claimed format makes every other number a refused one:
Colissimo, Chronopost, GLS, Royal Mail's non-S10 labels, Australia Post and DPD's 14-digit parcel
numbers without their check character are not covered, so those carriers accept any number.
"""

from __future__ import annotations

from typing import Any

CARRIERS: list[dict[str, Any]] = [
    {
        "code": "ups",
        "name": "UPS",
        "tracking_url_template": "https://www.ups.com/track?tracknum={number}",
        "data_courier_codes": ["ups"],
        "channel_codes": {"shopify": "UPS", "bigcommerce": "ups", "amazon": "UPS", "ebay": "UPS"},
    },
    {
        "code": "usps",
        "name": "USPS",
        "tracking_url_template": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
        "data_courier_codes": ["usps", "s10:US"],
        "channel_codes": {
            "shopify": "USPS",
            "bigcommerce": "usps",
            "amazon": "USPS",
            "ebay": "USPS",
        },
    },
    {
        "code": "fedex",
        "name": "FedEx",
        "tracking_url_template": "https://www.fedex.com/fedextrack/?trknbr={number}",
        "data_courier_codes": ["fedex"],
        "channel_codes": {
            "shopify": "FedEx",
            "bigcommerce": "fedex",
            "amazon": "FedEx",
            "ebay": "FedEx",
        },
    },
    {
        "code": "dhl_express",
        "name": "DHL Express",
        "tracking_url_template": (
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
            "?submit=1&tracking-id={number}"
        ),
        "data_courier_codes": ["dhl:dhl_express", "dhl:dhl_express_piece_id"],
        "channel_codes": {"shopify": "DHL Express", "ebay": "DHL"},
    },
    {
        "code": "dhl_ecommerce",
        "name": "DHL eCommerce",
        "tracking_url_template": (
            "https://www.dhl.com/global-en/home/tracking/tracking-ecommerce.html"
            "?submit=1&tracking-id={number}"
        ),
        "data_courier_codes": ["dhl:dhl_ecommerce", "dhl:dhl_ecommerce_14"],
        "channel_codes": {"shopify": "DHL eCommerce"},
    },
    {
        "code": "colissimo",
        "name": "La Poste / Colissimo",
        "tracking_url_template": "https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
        "data_courier_codes": [],
        "channel_codes": {"shopify": "Colissimo"},
    },
    {
        "code": "chronopost",
        "name": "Chronopost",
        "tracking_url_template": (
            "https://www.chronopost.fr/tracking-no-cms/suivi-page?listeNumerosLT={number}"
        ),
        "data_courier_codes": [],
        "channel_codes": {"shopify": "Chronopost"},
    },
    {
        "code": "dpd",
        "name": "DPD",
        "tracking_url_template": (
            "https://www.dpdgroup.com/nl/mydpd/my-parcels/track?lang=en&parcelNumber={number}"
        ),
        "data_courier_codes": [],
        "channel_codes": {"shopify": "DPD", "amazon": "DPD"},
    },
    {
        "code": "gls",
        "name": "GLS",
        "tracking_url_template": "https://gls-group.com/GROUP/en/parcel-tracking?match={number}",
        "data_courier_codes": [],
        "channel_codes": {"shopify": "GLS"},
    },
    {
        "code": "royal_mail",
        "name": "Royal Mail",
        "tracking_url_template": (
            "https://www.royalmail.com/track-your-item#/tracking-results/{number}"
        ),
        "data_courier_codes": [],
        "channel_codes": {
            "shopify": "Royal Mail",
            "bigcommerce": "royalmail",
            "amazon": "Royal Mail",
        },
    },
    {
        "code": "canada_post",
        "name": "Canada Post",
        "tracking_url_template": (
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}"
        ),
        "data_courier_codes": ["canada_post", "s10:CA"],
        "channel_codes": {"shopify": "Canada Post", "bigcommerce": "canadapost"},
    },
    {
        "code": "australia_post",
        "name": "Australia Post",
        "tracking_url_template": "https://auspost.com.au/mypost/track/details/{number}",
        "data_courier_codes": [],
        "channel_codes": {"shopify": "Australia Post", "bigcommerce": "auspost"},
    },
    {
        "code": "amazon_logistics",
        "name": "Amazon Logistics",
        "tracking_url_template": "https://track.amazon.com/tracking/{number}",
        "data_courier_codes": ["amazon"],
        "channel_codes": {"shopify": "Amazon"},
    },
    {
        "code": "ontrac",
        "name": "OnTrac",
        "tracking_url_template": "https://www.ontrac.com/tracking/?number={number}",
        # LaserShip has traded as OnTrac since the two merged; its labels keep their formats.
        "data_courier_codes": ["ontrac", "lasership"],
        "channel_codes": {"shopify": "OnTrac"},
    },
    {
        "code": "purolator",
        "name": "Purolator",
        "tracking_url_template": "https://www.purolator.com/en/shipping/tracker?pin={number}",
        "data_courier_codes": ["purolator"],
        "channel_codes": {"shopify": "Purolator"},
    },
    {
        "code": "other",
        "name": "Other",
        "tracking_url_template": "",
        "data_courier_codes": [],
        "channel_codes": {"amazon": "Other"},
    },
]


def carriers_apply(model: Any) -> int:
    """Create the carriers of CARRIERS that `model` (the Carrier model, or its historical
    version in a migration) does not hold yet; edited rows stay as they are. Returns how many
    were created."""
    existing = set(model.objects.values_list("code", flat=True))
    missing = [model(**row) for row in CARRIERS if row["code"] not in existing]
    model.objects.bulk_create(missing)
    return len(missing)
