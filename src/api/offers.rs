//! What both dialects answer before a purchase (products with prices, quotes, number
//! lookups, validate-only verdicts): extensions beyond the seeds, in one shape for both.
//! Errors stay each dialect's own.

use crate::api::json::{money, number, opt_money, timestamp};
use crate::domain::catalog::{Product, ProductKind};
use crate::domain::money::DecimalNumber;
use crate::service::purchase::{Lookup, PricedProduct, ProductFilter, Quote};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `?country=&operator=&kind=` on product listings.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// ISO 3166 alpha-2 (e.g. MX, ZA).
    pub country: Option<String>,
    /// Operator name (e.g. TELCEL, VODACOM); products for any network match every operator.
    pub operator: Option<String>,
    /// airtime, data or bundle.
    pub kind: Option<String>,
}

impl ProductQuery {
    /// The filter, or which parameter is wrong and why.
    pub fn filter(&self) -> Result<ProductFilter, (&'static str, String)> {
        let kind = match self.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            None => None,
            Some(k) => Some(
                serde_json::from_value::<ProductKind>(serde_json::Value::String(k.to_ascii_lowercase()))
                    .map_err(|_| ("kind", format!("unknown kind {k:?}; use airtime, data or bundle")))?,
            ),
        };
        let upper = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_ascii_uppercase)
        };
        Ok(ProductFilter {
            country: upper(&self.country),
            operator: upper(&self.operator),
            kind,
        })
    }
}

/// `?country=` on a number lookup, for a national form several countries share.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountryQuery {
    /// ISO 3166 alpha-2 (e.g. ZA).
    pub country: Option<String>,
}

impl CountryQuery {
    pub fn country(&self) -> Option<String> {
        self.country
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_ascii_uppercase)
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductView {
    pub product_id: String,
    pub description: String,
    pub country: String,
    pub operator: String,
    pub kind: ProductKind,
    pub currency: String,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub min_amount: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub max_amount: Option<Decimal>,
    /// What a ranged product really delivers within min..max (the union of its routes):
    /// fixed denominations and open ranges. Any other amount is refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliverable: Option<Deliverable>,
    /// A fixed product's price for the caller in USD, commission included, at the
    /// current rate (absent while its currency has no fresh rate).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub price_usd: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_money")]
    #[schema(value_type = Option<DecimalNumber>)]
    pub exchange_rate: Option<Decimal>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Deliverable {
    #[serde(serialize_with = "money_list")]
    #[schema(value_type = Vec<DecimalNumber>)]
    pub denominations: Vec<Decimal>,
    pub ranges: Vec<AmountRange>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AmountRange {
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub min_amount: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub max_amount: Decimal,
}

fn money_list<S: serde::Serializer>(v: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|d| number(*d)))
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            product_id: p.id.clone(),
            description: p.description.clone(),
            country: p.country.clone(),
            operator: p.operator.clone(),
            kind: p.kind,
            currency: p.currency.clone(),
            amount: p.fixed_amount,
            min_amount: p.min_amount,
            max_amount: p.max_amount,
            deliverable: p.fixed_amount.is_none().then(|| {
                let offer = p.offer();
                Deliverable {
                    denominations: offer.denominations,
                    ranges: offer
                        .ranges
                        .into_iter()
                        .map(|(min_amount, max_amount)| AmountRange { min_amount, max_amount })
                        .collect(),
                }
            }),
            price_usd: None,
            exchange_rate: None,
        }
    }
}

impl From<&PricedProduct> for ProductView {
    fn from(p: &PricedProduct) -> Self {
        Self {
            price_usd: p.quote.as_ref().map(|q| q.price.charged_usd),
            exchange_rate: p.quote.as_ref().map(|q| q.rate.rate),
            ..ProductView::from(&p.product)
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductList {
    pub success: bool,
    pub products: Vec<ProductView>,
}

impl ProductList {
    pub fn new(products: &[PricedProduct]) -> Self {
        Self {
            success: true,
            products: products.iter().map(ProductView::from).collect(),
        }
    }
}

/// A price, as the purchase would charge it while the rate is unchanged.
#[derive(Serialize, utoipa::ToSchema)]
pub struct QuoteView {
    pub success: bool,
    pub product_id: String,
    /// The number normalised for the product's country, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Face value, in `currency`.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub amount: Decimal,
    pub currency: String,
    /// Units of `currency` per USD.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub exchange_rate: Decimal,
    pub rate_source: String,
    pub rate_as_of: String,
    pub rate_age_seconds: i64,
    /// face ÷ rate, to the cent.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub cost_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub commission_usd: Decimal,
    /// What the purchase would deduct from the balance.
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub charged_usd: Decimal,
}

impl From<&Quote> for QuoteView {
    fn from(q: &Quote) -> Self {
        Self {
            success: true,
            product_id: q.product.id.clone(),
            phone: q.phone.clone(),
            amount: q.amount,
            currency: q.product.currency.clone(),
            exchange_rate: q.rate.rate,
            rate_source: q.rate.source.clone(),
            rate_as_of: timestamp(q.rate.as_of),
            rate_age_seconds: q.rate_age.num_seconds(),
            cost_usd: q.price.cost_usd,
            commission_usd: q.price.commission_usd,
            charged_usd: q.price.charged_usd,
        }
    }
}

/// What a validate-only purchase found: it would go through at this price.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WouldSucceed {
    pub success: bool,
    pub validate_only: bool,
    pub message: &'static str,
    pub quote: QuoteView,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_before_usd: Decimal,
    #[serde(serialize_with = "money")]
    #[schema(value_type = DecimalNumber)]
    pub balance_after_usd: Decimal,
}

impl WouldSucceed {
    pub fn new(quote: &Quote, balance_before_usd: Decimal, balance_after_usd: Decimal) -> Self {
        Self {
            success: true,
            validate_only: true,
            message: "Every check passed: this purchase would be accepted. Nothing was charged or sent.",
            quote: quote.into(),
            balance_before_usd,
            balance_after_usd,
        }
    }
}

/// What a validate-only purchase found: its reference was used for this same request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WouldReplay {
    pub success: bool,
    pub validate_only: bool,
    pub message: &'static str,
    /// The original a purchase with this reference would answer with.
    pub transaction_id: String,
    pub status: crate::domain::status::TxnStatus,
}

impl WouldReplay {
    pub fn new(original: &crate::store::transactions::Transaction) -> Self {
        Self {
            success: true,
            validate_only: true,
            message: "This reference was used before for the same request: a purchase would return \
                      the original transaction and charge nothing.",
            transaction_id: original.id.clone(),
            status: original.status,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LookupView {
    pub success: bool,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// The number as it is sent upstream.
    pub msisdn: String,
    /// The network the number is on now, where an upstream can tell; null otherwise.
    pub operator: Option<String>,
    /// Which upstream told (null when none could).
    pub operator_source: Option<&'static str>,
    pub operator_note: String,
    /// What can be bought for this number (for its operator, when known).
    pub products: Vec<ProductView>,
}

impl From<&Lookup> for LookupView {
    fn from(l: &Lookup) -> Self {
        let operator_note = match (&l.operator, l.operator_source) {
            (Some(_), Some(source)) => format!("reported by {source} for this number now (numbers are portable)"),
            _ => format!(
                "not known: numbers in {} are portable, so a guess from the prefix would be unreliable, \
                 and no upstream here reports the current network; products for any network are listed",
                l.country
            ),
        };
        Self {
            success: true,
            country: l.country.clone(),
            msisdn: l.msisdn.clone(),
            operator: l.operator.clone(),
            operator_source: l.operator_source,
            operator_note,
            products: l.products.iter().map(ProductView::from).collect(),
        }
    }
}
