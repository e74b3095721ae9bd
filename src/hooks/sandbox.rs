//! The sandboxed rhai engine: only the packages a check needs, no modules (`import` is refused
//! when the hook compiles), no `eval`, strict
//! variables, limits on operations, depth and sizes, and a wall-clock deadline per call.

use std::time::Instant;

use rhai::packages::{Package, StandardPackage};
use rhai::{Dynamic, Engine, EvalAltResult, LexError, ParseError, ParseErrorType, Scope, AST};

use super::ctx::{self, CtxData, Request};
use super::{HookError, HookVerdict};
use crate::plan::Millis;

/// The limits every hook runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits;

impl Limits {
    /// Operations per call: loops stop long before they could hold up a rollout.
    pub const OPERATIONS: u64 = 1_000_000;
    /// Nested function calls.
    pub const CALL_LEVELS: usize = 32;
    /// Nesting of expressions (global, in functions).
    pub const EXPR_DEPTHS: (usize, usize) = (64, 32);
    /// Bytes in a string.
    pub const STRING_SIZE: usize = 64 * 1024;
    /// Items in an array.
    pub const ARRAY_SIZE: usize = 10_000;
    /// Entries in a map.
    pub const MAP_SIZE: usize = 10_000;
}

/// A sandboxed engine; `deadline` stops the script when passed.
fn engine(deadline: Option<Instant>) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine
        .set_max_operations(Limits::OPERATIONS)
        .set_max_call_levels(Limits::CALL_LEVELS)
        .set_max_expr_depths(Limits::EXPR_DEPTHS.0, Limits::EXPR_DEPTHS.1)
        .set_max_string_size(Limits::STRING_SIZE)
        .set_max_array_size(Limits::ARRAY_SIZE)
        .set_max_map_size(Limits::MAP_SIZE)
        .set_strict_variables(true)
        .disable_symbol("eval")
        .disable_symbol("import");
    if let Some(deadline) = deadline {
        engine
            .on_progress(move |_| (Instant::now() >= deadline).then(|| Dynamic::from("deadline")));
    }
    ctx::register(&mut engine);
    engine
}

/// Compiles a hook with the sandbox's rules (`ctx` is a known variable).
pub fn compile(text: &str) -> Result<AST, ParseError> {
    let mut scope = Scope::new();
    scope.push_constant("ctx", ());
    engine(None).compile_with_scope(&scope, ctx::prepare(text))
}

/// Runs a compiled hook to its verdict. Anything but `true`/`false` or `#{ healthy, reason }`,
/// any error, and any limit reached is unhealthy.
pub(super) fn run(
    ast: &AST,
    data: CtxData,
    timeout: Millis,
    requests: tokio::sync::mpsc::UnboundedSender<Request>,
) -> HookVerdict {
    let deadline = Instant::now() + timeout.as_std();
    let mut engine = engine(Some(deadline));
    let log = requests.clone();
    engine.on_print(move |text| {
        let _ = log.send(Request::Log(text.to_string()));
    });
    let debug = requests.clone();
    engine.on_debug(move |text, _, _| {
        let _ = debug.send(Request::Log(text.to_string()));
    });
    let mut scope = Scope::new();
    scope.push_constant("ctx", ctx::Ctx::new(data, requests, deadline));
    match engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast) {
        Ok(value) => verdict(value),
        Err(error) => HookVerdict::Broken(describe(&error, timeout)),
    }
}

fn verdict(value: Dynamic) -> HookVerdict {
    if let Some(healthy) = value.clone().try_cast::<bool>() {
        let reason = if healthy {
            "returned true"
        } else {
            "returned false"
        };
        return HookVerdict::Answered {
            healthy,
            reason: reason.to_string(),
        };
    }
    if let Some(map) = value.clone().try_cast::<rhai::Map>() {
        let reason = map
            .get("reason")
            .map(|r| r.to_string())
            .unwrap_or_else(|| "no reason given".to_string());
        return match map
            .get("healthy")
            .and_then(|h| h.clone().try_cast::<bool>())
        {
            Some(healthy) => HookVerdict::Answered { healthy, reason },
            None => HookVerdict::Broken(HookError::NoHealthy { reason }),
        };
    }
    HookVerdict::Broken(HookError::NotAVerdict {
        type_name: value.type_name().to_string(),
        value: value.to_string(),
    })
}

/// Why a hook failed.
fn describe(error: &EvalAltResult, timeout: Millis) -> HookError {
    match error {
        EvalAltResult::ErrorTerminated(..) => HookError::Deadline(timeout),
        EvalAltResult::ErrorTooManyOperations(_) => {
            HookError::TooManyOperations(Limits::OPERATIONS)
        }
        EvalAltResult::ErrorStackOverflow(_) => HookError::TooDeep(Limits::CALL_LEVELS),
        EvalAltResult::ErrorDataTooLarge(what, _) => HookError::TooLarge(what.to_string()),
        EvalAltResult::ErrorRuntime(value, _) => HookError::Threw(value.to_string()),
        EvalAltResult::ErrorFunctionNotFound(name, _) => HookError::Unavailable(name.to_string()),
        EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
            HookError::InFunction(name.to_string(), Box::new(describe(inner, timeout)))
        }
        other => HookError::Failed(other.to_string()),
    }
}

/// What to do about a compile error, by its kind: a disabled `eval` or `import`, a variable
/// used before `let`, or anything else.
pub(super) fn hint(error: &ParseErrorType) -> String {
    use ParseErrorType::{BadInput, Reserved, VariableUndefined};
    match error {
        BadInput(LexError::ImproperSymbol(symbol, _)) | Reserved(symbol) if symbol == "eval" => {
            "`eval` is disabled in hooks; write the code out".to_string()
        }
        BadInput(LexError::ImproperSymbol(symbol, _)) | Reserved(symbol) if symbol == "import" => {
            "hooks cannot import modules; write the code in the hook".to_string()
        }
        VariableUndefined(_) => {
            "hooks use strict variables: declare each with `let` before using it; the rollout is `ctx`"
                .to_string()
        }
        _ => "fix the script; hooks are rhai (https://rhai.rs/book), returning true/false or #{ healthy, reason }".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refusal of the sandbox gets its own hint, whatever the names in the script.
    #[test]
    fn a_compile_error_is_hinted_by_its_kind() {
        let hinted = |text: &str| hint(&compile(text).expect_err("does not compile").0);
        assert!(hinted("let x = eval(\"1\"); x").starts_with("`eval` is disabled"));
        assert!(hinted("import \"a\" as b; true").starts_with("hooks cannot import"));
        assert!(hinted("x + 1").starts_with("hooks use strict variables"));
        assert!(hinted("let evaluation = 1; evaluations").starts_with("hooks use strict variables"));
        assert!(hinted("ctx.error_rate(").starts_with("fix the script"));
    }
}
