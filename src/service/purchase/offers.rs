//! What a reseller can ask before buying, from the same code the purchase runs: the
//! price of a purchase (quote), what a purchase would do (validate-only), what a
//! number is and what can be bought for it, and the products with their prices.

use super::*;
use crate::domain::catalog::ProductKind;
use crate::domain::fx::Rate;
use crate::domain::money::Price;
use crate::store::transactions::Preview;

/// A price, as the purchase would charge it while the rate is unchanged.
#[derive(Debug, Clone)]
pub struct Quote {
    pub product: Product,
    pub amount: Decimal,
    /// Normalised for the product's country, when a number was given.
    pub phone: Option<String>,
    pub rate: Rate,
    pub rate_age: chrono::Duration,
    pub price: Price,
}

#[derive(Debug, Clone)]
pub struct QuoteRequest {
    pub buyer: Buyer,
    pub product_id: String,
    pub amount: Decimal,
    pub phone: Option<String>,
    pub operator: Option<String>,
}

/// What a purchase would do now (nothing was debited, sent or recorded).
#[derive(Debug, Clone)]
pub enum DryRun {
    /// It would be accepted and debited at this price.
    WouldDebit {
        quote: Box<Quote>,
        balance_before: Decimal,
        balance_after: Decimal,
    },
    /// Its reference was used before for the same request: a purchase would answer
    /// with this original and charge nothing.
    Replay(Box<Transaction>),
}

/// A product as offered to one reseller: fixed-amount products with their price.
#[derive(Debug, Clone)]
pub struct PricedProduct {
    pub product: Product,
    pub quote: Option<Quote>,
}

#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    /// ISO 3166 alpha-2, upper case.
    pub country: Option<String>,
    /// Upper case; products that detect the network per number match any operator.
    pub operator: Option<String>,
    pub kind: Option<ProductKind>,
}

impl ProductFilter {
    fn matches(&self, p: &Product) -> bool {
        self.country.as_deref().is_none_or(|c| p.country == c)
            && self.operator.as_deref().is_none_or(|o| p.sold_by(o))
            && self.kind.is_none_or(|k| p.kind == k)
    }
}

/// What is known of a number.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub country: String,
    /// The number as the country's upstream takes it.
    pub msisdn: String,
    /// Its network now, where an upstream can tell (numbers are portable).
    pub operator: Option<String>,
    /// The upstream that told.
    pub operator_source: Option<&'static str>,
    pub products: Vec<PricedProduct>,
}

impl PurchaseService {
    /// The price of a purchase, validated as the purchase validates it (product,
    /// amount for its routes, and the number and operator when given).
    pub fn quote(&self, q: QuoteRequest) -> Result<Quote, PurchaseError> {
        let product = self.product(&q.product_id)?;
        product.check_amount(q.amount)?;
        let phone = q
            .phone
            .as_deref()
            .map(|p| normalize_for_country(&product.country, &product.operator, p))
            .transpose()?;
        check_operator(&product, q.operator.as_deref())?;
        let mut quote = self.quote_for(product, q.amount, &q.buyer)?;
        quote.phone = phone;
        Ok(quote)
    }

    /// The one pricing of a purchase: the current rate (refused when stale) and the
    /// charge for this buyer.
    pub(super) fn quote_for(&self, product: Product, amount: Decimal, buyer: &Buyer) -> Result<Quote, PurchaseError> {
        let rate = self.fx.current(&product.currency)?;
        let price = price(amount, rate.rate, buyer.commission_rate);
        Ok(Quote {
            rate_age: self.clock.now() - rate.as_of,
            product,
            amount,
            phone: None,
            rate,
            price,
        })
    }

    /// Every check a purchase runs before its debit (product, amount, number,
    /// operator, rate freshness, reference, customer status, balance, daily limit),
    /// moving no money, calling no upstream and consuming no reference. Refusals are
    /// the purchase's own errors.
    pub async fn dry_run(&self, mut req: PurchaseRequest) -> Result<DryRun, PurchaseError> {
        let product = self.validate(&mut req)?;
        let quote = self.quote_for(product, req.amount, &req.buyer)?;
        // No network detection here: it would ask an upstream.
        let operator = req.operator.clone().or_else(|| Some(quote.product.operator.clone()));
        let new = self.new_purchase(&req, &quote, operator);
        let preview = txns::preview(&self.pool, &new).await.map_err(|e| match e {
            StoreError::Db(e) if is_unavailable(&e) => PurchaseError::Unavailable(StoreError::Db(e)),
            other => other.into(),
        })?;
        Ok(match preview {
            Preview::Existing(original) => DryRun::Replay(original),
            Preview::WouldDebit {
                balance_before,
                balance_after,
            } => DryRun::WouldDebit {
                quote: Box::new(Quote {
                    phone: Some(req.phone),
                    ..quote
                }),
                balance_before,
                balance_after,
            },
        })
    }

    /// The products offered here that match, each fixed one priced for `buyer` (no
    /// price while its currency has no fresh rate).
    pub fn priced_products(&self, buyer: &Buyer, filter: &ProductFilter) -> Vec<PricedProduct> {
        self.catalog
            .current()
            .all()
            .into_iter()
            .filter(|p| self.offers(p) && filter.matches(p))
            .map(|p| PricedProduct {
                quote: p
                    .fixed_amount
                    .and_then(|amount| self.quote_for(p.clone(), amount, buyer).ok()),
                product: p.clone(),
            })
            .collect()
    }

    /// The country of a number (among those with products here; `country` narrows it
    /// when a national form could belong to several), its operator where an upstream
    /// can tell, and the products that can be bought for it.
    pub async fn lookup(&self, buyer: &Buyer, phone: &str, country: Option<&str>) -> Result<Lookup, PurchaseError> {
        let catalog = self.catalog.current();
        let offered: Vec<&Product> = catalog.all().into_iter().filter(|p| self.offers(p)).collect();
        let mut countries: Vec<&str> = offered.iter().map(|p| p.country.as_str()).collect();
        countries.sort_unstable();
        countries.dedup();
        if let Some(c) = country {
            if !countries.contains(&c) {
                return Err(PhoneError::UnsupportedCountry(c.to_string()).into());
            }
            countries.retain(|x| *x == c);
        }
        let mut matches = Vec::new();
        let mut last_error = None;
        for c in &countries {
            // Any network of the country: the number's own is what is asked.
            match normalize_for_country(c, AUTO_OPERATOR, phone) {
                Ok(msisdn) => matches.push((c.to_string(), msisdn)),
                Err(e) => last_error = Some(e),
            }
        }
        let (country, msisdn) = match (matches.len(), last_error) {
            (1, _) => matches.remove(0),
            (0, Some(e)) if countries.len() == 1 => return Err(e.into()),
            (0, _) => return Err(PhoneError::NoCountry(countries.join(", ")).into()),
            _ => {
                let found: Vec<String> = matches.into_iter().map(|(c, _)| c).collect();
                return Err(PhoneError::Ambiguous(found.join(", ")).into());
            }
        };
        let in_country: Vec<&Product> = offered.into_iter().filter(|p| p.country == country).collect();
        let (operator, operator_source) = self.network_of(&in_country, &msisdn).await;
        let filter = ProductFilter {
            country: Some(country.clone()),
            operator: operator.clone(),
            kind: None,
        };
        Ok(Lookup {
            products: self.priced_products(buyer, &filter),
            country,
            msisdn,
            operator,
            operator_source,
        })
    }

    /// Ask each upstream that sells these products, until one can tell the network.
    async fn network_of(&self, products: &[&Product], msisdn: &str) -> (Option<String>, Option<&'static str>) {
        let mut asked = Vec::new();
        for route in products.iter().flat_map(|p| &p.routes) {
            let Some(provider) = self.providers.get(&route.upstream) else {
                continue;
            };
            if asked.contains(&provider.id()) {
                continue;
            }
            asked.push(provider.id());
            if let Some(operator) = provider.detect_operator(msisdn).await {
                return (Some(operator), Some(provider.id()));
            }
        }
        (None, None)
    }
}

/// An operator named with a purchase must not contradict its product.
pub(super) fn check_operator(product: &Product, operator: Option<&str>) -> Result<(), PurchaseError> {
    match operator.filter(|o| !product.sold_by(o)) {
        Some(operator) => Err(PurchaseError::OperatorMismatch {
            operator: operator.to_string(),
            product: product.id.clone(),
            product_operator: product.operator.clone(),
        }),
        None => Ok(()),
    }
}
