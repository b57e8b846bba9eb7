//! Before a request goes upstream: reserve the most it can cost against
//! its key's, developer's and team's budgets (`teams::budget`); the record
//! settles it when the request ends.

use super::RequestContext;
use crate::core::RawRequest;
use crate::error::GatewayError;
use crate::routing::Plan;

impl RequestContext<'_> {
    /// Reserve for `plan`; `Ok` carries a soft-limit warning, if any.
    pub(super) fn reserve(
        &self,
        plan: &Plan,
        raw: &RawRequest,
    ) -> Result<Option<String>, GatewayError> {
        let budgets = &self.state.budgets;
        let Some(record) = self.record.get() else {
            return Ok(None);
        };
        let Some(who) = record.identity.as_deref() else {
            return Ok(None);
        };
        if budgets.is_empty() {
            return Ok(None);
        }
        let most = budgets.most_cost(
            plan.targets.iter().map(|t| t.model.name.as_str()),
            raw.estimated_input_tokens(),
            raw.max_output_tokens(),
        );
        budgets
            .reserve(
                &record.request_id,
                Some(who),
                most,
                crate::teams::view::now_ms(),
            )
            .map_err(|r| GatewayError::BudgetExceeded {
                message: r.message,
                retry_after_secs: r.retry_after_secs,
            })
    }
}
