//! What a failed SDK call means to the engine: a [`CloudError`] that says whether waiting can
//! fix it, and what to do where only a person can.

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::cloud::CloudError;
use crate::plan::Millis;

/// An SDK error as the engine needs it, keeping the service's message and saying what to do
/// where only a person can fix it.
pub(super) fn domain<E>(error: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let context = causes(&error);
    match &error {
        SdkError::ServiceError(_) => {}
        SdkError::TimeoutError(_) => {
            return CloudError::Transient(format!("no answer in time ({context})"))
        }
        SdkError::ResponseError(_) => return CloudError::Transient(context),
        _ if caused_by::<CredentialsError>(&error) => return CloudError::Credentials(context),
        // Sent and lost, or timed out: waiting can fix it. A request that could not be sent for
        // another reason (its endpoint could not be resolved, the client refused it) is a set-up
        // problem, as the SDK's own retry classifier also judges: it retries only these kinds.
        SdkError::DispatchFailure(failure)
            if failure.is_io() || failure.is_timeout() || failure.as_other().is_some() =>
        {
            return CloudError::Transient(context)
        }
        _ => return CloudError::Setup(context),
    }
    let response = error.raw_response();
    let status = response.map(|r| r.status().as_u16());
    let code = match (error.code(), status) {
        (Some(code), _) => code.to_string(),
        // An endpoint that does not know the operation at all.
        (None, Some(404)) => "ResourceNotFoundException".to_string(),
        (None, _) => String::new(),
    };
    let message = error.message().map_or(context, str::to_string);
    let text = if code.is_empty() {
        message
    } else {
        format!("{code}: {message}")
    };
    match code.as_str() {
        "ResourceNotFoundException"
        | "ResourceNotFound"
        | "ProvisionedConcurrencyConfigNotFoundException"
        // SSM's and Step Functions' own words for it.
        | "ParameterNotFound"
        | "ExecutionDoesNotExist"
        | "StateMachineDoesNotExist" => CloudError::NotFound(text),
        "PreconditionFailedException" => CloudError::Stale(text),
        "ResourceConflictException" | "ResourceInUseException" | "ResourceNotReadyException" => {
            CloudError::Busy(text)
        }
        "TooManyRequestsException"
        // SNS's word for it.
        | "Throttled"
        | "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded" => CloudError::Throttled {
            message: text,
            retry_after: response
                .and_then(|r| r.headers().get("retry-after"))
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Millis((s * 1000.0) as u64)),
        },
        "InvalidParameterValueException"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "ValidationError"
        | "ValidationException"
        | "InvalidRequestContentException" => CloudError::InvalidParameter(text),
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => {
            CloudError::Denied(text)
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken" => CloudError::Credentials(text),
        _ if status.is_some_and(|s| s >= 500) => CloudError::Transient(text),
        _ => CloudError::Other(text),
    }
}

/// An error and its causes, each in its own words.
pub(super) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// Whether an error of type `T` is somewhere in `error`'s chain of causes.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<T>() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_lambda::operation::get_alias::GetAliasError;
    use aws_sdk_lambda::primitives::SdkBody;

    /// What a service error with this status, code and headers becomes.
    fn classify(status: u16, code: &str, headers: &[(&'static str, &'static str)]) -> CloudError {
        let mut response = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        for (name, value) in headers {
            response.headers_mut().insert(*name, *value);
        }
        let error = GetAliasError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("the service's words")
                .build(),
        );
        domain(SdkError::service_error(error, response))
    }

    #[test]
    fn service_errors_are_told_apart_by_what_can_be_done_about_them() {
        let stale = classify(412, "PreconditionFailedException", &[]);
        assert!(matches!(stale, CloudError::Stale(_)), "{stale:?}");
        assert!(!stale.retried());
        let busy = classify(409, "ResourceConflictException", &[]);
        assert!(matches!(busy, CloudError::Busy(_)) && busy.retried());
        // Nothing there, in each service's words: `approve` before the gate's token is written,
        // `status` of an execution gone.
        for code in [
            "ParameterNotFound",
            "ExecutionDoesNotExist",
            "ResourceNotFoundException",
        ] {
            let missing = classify(400, code, &[]);
            assert!(
                matches!(missing, CloudError::NotFound(_)),
                "{code}: {missing:?}"
            );
            assert!(!missing.retried());
        }
        assert_eq!(
            classify(429, "TooManyRequestsException", &[("Retry-After", "3")]),
            CloudError::Throttled {
                message: "TooManyRequestsException: the service's words".into(),
                retry_after: Some(Millis(3_000)),
            }
        );
        let denied = classify(403, "AccessDeniedException", &[]);
        assert!(matches!(denied, CloudError::Denied(_)) && !denied.retried());
        assert!(denied.to_string().contains("permissions README.md lists"));
        for code in ["ExpiredTokenException", "UnrecognizedClientException"] {
            let expired = classify(403, code, &[]);
            assert!(matches!(expired, CloudError::Credentials(_)) && !expired.retried());
            assert!(expired.to_string().contains("refresh them"), "{expired}");
        }
        let invalid = classify(400, "InvalidParameterValueException", &[]);
        assert!(matches!(invalid, CloudError::InvalidParameter(_)) && !invalid.retried());
        let failing = classify(503, "ServiceUnavailable", &[]);
        assert!(matches!(failing, CloudError::Transient(_)) && failing.retried());
        let unknown = classify(400, "SomethingNew", &[]);
        assert!(matches!(unknown, CloudError::Other(_)) && !unknown.retried());
    }

    #[test]
    fn a_request_lost_on_the_way_is_transient_and_one_that_could_not_be_sent_is_set_up() {
        let dispatch =
            |error: ConnectorError| domain::<GetAliasError>(SdkError::dispatch_failure(error));
        let cause = || Box::new(std::io::Error::other("the connection's words"));
        for (lost, what) in [
            (ConnectorError::io(cause()), "io"),
            (ConnectorError::timeout(cause()), "timeout"),
        ] {
            let error = dispatch(lost);
            assert!(
                matches!(error, CloudError::Transient(_)) && error.retried(),
                "{what}"
            );
        }
        // What the SDK raises when no endpoint can be resolved, before anything is sent, and a
        // request the client refuses: waiting fixes neither.
        for (unsent, what) in [
            (ConnectorError::other(cause(), None), "other"),
            (ConnectorError::user(cause()), "user"),
        ] {
            let error = dispatch(unsent);
            assert!(error.is_setup() && !error.retried(), "{what}: {error:?}");
        }
    }
}
