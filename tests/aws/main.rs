//! End-to-end tests: the real `rollout` binary and the real AWS SDK against a moto server on
//! loopback. `scripts/test` installs and starts the server, sets `ROLLOUT_MOTO_ENDPOINT` and turns
//! on the `e2e` feature; with the feature and without a server these tests fail, saying how to
//! get one, and without the feature (`cargo test` on a machine without Python) each is listed
//! as ignored with that reason. moto does not check RevisionIds, weights or `$LATEST` (the
//! simulated Lambda's tests prove those rules) and does not derive metrics from invocations, so
//! health is driven here by writing `AWS/Lambda` metrics and alarm states.

mod continued;
mod control;
#[path = "../common/edit.rs"]
mod edit;
mod fleet;
mod hang;
mod harness;
mod identity;
mod interrupt;
mod journal;
mod judged;
mod lease;
mod notify;
mod prune;
mod reading;
mod refusals;
mod replay;
mod rollout;
mod server;
mod signals;
mod signatures;
mod throttled;
mod validated;
mod watch;
mod waves;
