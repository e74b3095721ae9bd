//! The simulated world's moving parts: a seeded random source, the traffic model, the virtual
//! clock, and the Monte Carlo runner. The in-memory Lambda and CloudWatch that use them are in
//! [`crate::cloud::sim`].

pub mod clock;
pub mod monte_carlo;
pub mod rng;
pub mod run;
pub mod traffic;
