//! EventBridge and SNS through the SDK: where notifications of a rollout's progress go. These
//! calls are not counted with the rollout's own: they act on nothing the rollout moves.

use super::errors::domain;
use super::Aws;
use crate::cloud::CloudError;

/// The `source` of every event a rollout puts on a bus, which rules match on.
const SOURCE: &str = "rollout";

impl Aws {
    /// `PutEvents` of one event on `bus` (a name or an ARN): source [`SOURCE`], `detail_type`,
    /// and `detail`, a JSON object. An entry the bus refuses is an error as a failed call is.
    pub async fn put_event(
        &self,
        bus: &str,
        detail_type: &str,
        detail: &str,
    ) -> Result<(), CloudError> {
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .event_bus_name(bus)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .build();
        let out = self
            .eventbridge
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(domain)?;
        match out.entries().iter().find(|e| e.error_code().is_some()) {
            None => Ok(()),
            Some(refused) => {
                let code = refused.error_code().unwrap_or_default();
                let text = format!("{code}: {}", refused.error_message().unwrap_or_default());
                Err(match code {
                    "ThrottlingException" => CloudError::Throttled {
                        message: text,
                        retry_after: None,
                    },
                    "InternalFailure" | "InternalException" => CloudError::Transient(text),
                    _ => CloudError::Other(text),
                })
            }
        }
    }

    /// `Publish` of `message` to `topic` (an ARN) with `subject`.
    pub async fn publish(
        &self,
        topic: &str,
        subject: &str,
        message: &str,
    ) -> Result<(), CloudError> {
        self.sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(domain)?;
        Ok(())
    }
}
