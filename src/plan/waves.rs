//! Waves: the regions (and accounts) a playbook rolls out to, one wave after another, with a
//! bake between them. The steps run in each wave on every target of that wave at once.

use std::fmt;

use serde::Serialize;

use super::Millis;
use crate::span::Span;

/// A playbook's `waves { … }` block, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waves {
    /// In the order they run.
    pub waves: Vec<Wave>,
    /// `between waves wait D [until healthy]`: how long the promoted waves are watched before
    /// the next one starts.
    pub between: Option<Between>,
    /// What a failure in a wave rolls back.
    pub on_failure: WaveFailure,
    /// Where the `waves` header is written, for what refuses it.
    #[serde(skip)]
    pub span: Span,
}

/// One wave: its name and where it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wave {
    /// `wave "europe"`.
    pub name: String,
    /// Its regions, each in the wave's account.
    pub places: Vec<Place>,
}

/// A region, in the base account or in one reached through a role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Place {
    /// `eu-west-1`.
    pub region: String,
    /// The account, when not the base credentials' own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
}

/// An account reached by assuming a role with the base credentials (STS `AssumeRole`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Account {
    /// The 12-digit account id.
    pub id: String,
    /// The role's ARN.
    pub role: String,
    /// The external id the role's trust policy asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// The bake between waves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Between {
    /// How long.
    pub duration: Millis,
    /// `until healthy`: the promoted targets are judged meanwhile, and a failure stops.
    pub healthy: bool,
}

/// What a failure in a wave rolls back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveFailure {
    /// The failing wave only (the default): earlier waves keep serving `new`.
    #[default]
    ThisWave,
    /// Every wave started: `old` serves everywhere again.
    EveryWave,
}

impl Waves {
    /// Every place of every wave, in order.
    pub fn places(&self) -> Vec<Place> {
        self.waves
            .iter()
            .flat_map(|w| w.places.iter().cloned())
            .collect()
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.account {
            Some(account) => write!(f, "{} in {}", self.region, account.id),
            None => f.write_str(&self.region),
        }
    }
}

impl Place {
    /// A short label for events and lines: `eu-west-1`, or `222222222222/us-west-2`.
    pub fn label(&self) -> String {
        match &self.account {
            Some(account) => format!("{}/{}", account.id, self.region),
            None => self.region.clone(),
        }
    }
}

impl fmt::Display for Waves {
    /// As the fingerprint reads it: every wave with its places, the bake and the policy.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for wave in &self.waves {
            let places: Vec<String> = wave.places.iter().map(Place::label).collect();
            write!(f, "wave {:?} {}; ", wave.name, places.join(","))?;
        }
        if let Some(between) = self.between {
            write!(
                f,
                "between {}{}; ",
                between.duration,
                if between.healthy { " healthy" } else { "" }
            )?;
        }
        write!(f, "{:?}", self.on_failure)
    }
}
