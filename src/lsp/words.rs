//! What hovering over a keyword, a metric or a unit says: the vocabulary of the language.

/// The meaning of each keyword, metric and unit, in the words of docs/language.md.
pub(super) const WORDS: &[(&str, &str)] = &[
    ("rollout", "`rollout \"name\"`: the display name, in progress output and the lease"),
    ("function", "`function \"a\", \"checkout-*\", tagged \"team=x\"`: the functions that move together, by name, glob pattern or tag"),
    ("tagged", "`tagged \"key=value\"`: every function of the region with this tag"),
    ("alias", "`alias \"live\"`: the alias whose weighted routing moves"),
    ("region", "`region \"eu-west-1\"`: the AWS region; in a wave, `region \"a\", \"b\"`: the wave's regions"),
    ("param", "`param NAME = VALUE`: a parameter; `--set NAME=VALUE` overrides it"),
    ("import", "`import \"file.rollout\"`: parameters, health and step definitions from another file"),
    ("health", "`health every D { … }`: what healthy means, judged every D on settled metrics"),
    ("every", "how often health is judged, or a ramp's interval"),
    ("on", "`on failure run \"x.rhai\"` / `on success run \"x.rhai\"`: a hook at the end"),
    ("failure", "`on failure run`: runs before the rollback"),
    ("success", "`on success run`: runs after the promotion"),
    ("run", "`run \"x.rhai\"`: a rhai hook that must return true"),
    ("step", "`step NAME(PARAMS) { … }`: a step definition, called as `NAME(…)`"),
    ("timeout", "`run \"x.rhai\" timeout D`, `script \"x.rhai\" timeout D`: how long a hook may take (a hook that takes longer fails)"),
    ("update", "`update code from \"x.zip\"`: UpdateFunctionCode on $LATEST, then wait until it is Successful"),
    ("code", "`update code from \"x.zip\"`"),
    ("from", "`update code from \"x.zip\"`"),
    ("publish", "`publish [\"description\"]`: freezes the $LATEST read before the rollout into a numbered version, `new`"),
    ("use", "`use version N`: an existing version is `new`"),
    ("version", "`use version N`"),
    ("shift", "`shift P% to new`: the alias sends P% of invocations to `new`"),
    ("to", "`shift P% to new`, `ramp to P% by S% every D`"),
    ("new", "the version being rolled out"),
    ("old", "the version the alias served when the rollout began"),
    ("wait", "`wait D`, or `wait D until healthy`: a bake judging D of traffic as it settles (`wait MIN..MAX until healthy`: adaptive)"),
    ("until", "`wait D until healthy`"),
    ("healthy", "`wait D until healthy`: judged by the health block"),
    ("approve", "`approve [\"message\"]`: waits for a person (terminal, `rollout approve`, or --auto-approve)"),
    ("promote", "`promote`: `new` gets all traffic; the rollout ends"),
    ("rollback", "`rollback`: `old` gets all traffic; the rollout ends rolled back"),
    ("ramp", "`ramp to P% by S% every D`: shifts in increments, baking D after each"),
    ("by", "`ramp to P% by S% every D`: the increment"),
    ("min", "`min invocations N`: the least invocations of `new` per bake for a conclusive verdict"),
    ("invocations", "invocations (Sum) of a version; `min invocations N`: the sample-size guard"),
    ("inconclusive", "`inconclusive fail|pass`: what a bake without enough evidence counts as"),
    ("pass", "`inconclusive pass`"),
    ("fail", "`inconclusive fail`"),
    ("alarm", "`alarm \"NAME\"`: a CloudWatch alarm (metric or composite) that must not be in ALARM"),
    ("script", "`script \"x.rhai\"`: a rhai health check that must return true"),
    ("of", "`METRIC of new|old`: which version's metric"),
    ("over", "`METRIC over D`: the window the metric is read over"),
    ("errors", "errors (Sum) of a version"),
    ("error", "`error rate`: errors ÷ invocations, in percent"),
    ("rate", "`error rate`: errors ÷ invocations, in percent"),
    ("throttles", "throttles (Sum) of a version"),
    ("duration", "`pNN duration`, `avg duration`, `max duration`: Duration of a version, in milliseconds"),
    ("avg", "`avg duration`: the average Duration"),
    ("max", "`max duration`: the maximum Duration"),
    ("concurrency", "concurrent executions (Maximum) of a version"),
    ("cold", "`cold starts`: the share of a version's calls that started cold (Lambda Insights' `init_duration` samples ÷ invocations), in percent"),
    ("starts", "`cold starts`: the share of a version's calls that started cold, in percent"),
    ("init", "`pNN init duration`, `avg init duration`, `max init duration`: Lambda Insights' `init_duration` of a version's cold starts"),
    ("metric", "`metric NAME { namespace \"…\"; name \"…\"; statistic sum; version dimension \"…\" }`: a CloudWatch metric the function publishes per version, named for health checks"),
    ("per", "`NAME per invocation`: a business metric divided by the version's invocations"),
    ("metrics", "`metrics delay D`: a period is judged once its end is D old"),
    ("delay", "`metrics delay D`"),
    ("confidence", "`confidence P%`: the chance a version meeting every check is not rolled back"),
    ("shared", "`shared failure hold up to D` or `shared failure rollback`: what a bake does when old fails as much as a check allows new"),
    ("hold", "`shared failure hold up to D`: traffic stays, the bake's clock stops while old fails as much as new (default, up to 30m)"),
    ("up", "`shared failure hold up to D`, `warm up D`"),
    ("warm", "`warm up D [including errors]`: new's first D of traffic is left out of latency (and error) checks (default 2m)"),
    ("including", "`warm up D including errors`: error checks leave the warm-up out too"),
    ("violation", "`on violation rollback` (the default) or `on violation pause [up to D]`: what a violated check does in a bake; pause holds traffic for a person (`rollout resume` accepts the violation, `rollout rollback` restores old), rolling back after D (default 1h)"),
    ("extend", "`inconclusive extend up to D`: a bake still inconclusive at its end goes on judging up to D longer, then fails if still inconclusive"),
    ("observe", "`observe CHECK`: judged and shown every evaluation, in the events and the report, but never fails, holds or leaves a bake inconclusive: a check on trial"),
    ("signatures", "`no new error signatures [seen more than N times] [matching \"RE\"] [in \"GROUP\"]`: no kind of error line (numbers, ids and hex taken out) that new logs and old did not log over the same time, read with CloudWatch Logs Insights, seen more than N times (default 0)"),
    ("matching", "`matching \"RE\"`: which log lines count as errors (default `ERROR|FATAL|Error|Exception|Traceback|Task timed out`)"),
    ("async", "`async`: the function is invoked asynchronously; each failed event may be retried, so errors are counted in clusters"),
    ("waves", "`waves { wave … }`: the regions (and accounts) the rollout goes to, one wave after another; the steps run in each wave"),
    ("wave", "`wave \"name\" { region \"a\", \"b\" }`: one wave and its regions; `on failure rollback this wave|every wave`"),
    ("account", "`account \"ID\" role \"ARN\" [external id \"X\"]`: the wave's regions are in this account, reached by assuming the role"),
    ("role", "`role \"arn:aws:iam::ID:role/NAME\"`: the role assumed in the wave's account"),
    ("external", "`external id \"X\"`: the external id the role's trust policy asks for"),
    ("between", "`between waves wait D [until healthy]`: the bake after each wave, before the next one starts"),
    ("window", "`window mon-fri 09:00-16:00 \"Europe/Berlin\"`: traffic may move on these days between these times, wall-clock time in that IANA zone; several lines add up"),
    ("calendar", "`calendar \"ChangeFreeze\"`: an SSM Change Calendar (name or ARN); while it is CLOSED, traffic does not move"),
    ("outside", "`outside window pause|rollback`: outside the windows, hold (traffic stays, the bake's clock stops) or roll back"),
    ("pause", "`outside window pause` (the default): outside the windows traffic stays where it is and the bake's clock stops"),
    ("this", "`on failure rollback this wave`: a failure rolls back the failing wave only (the default)"),
    ("notify", "`notify eventbridge \"BUS\"` or `notify sns \"TOPIC-ARN\"`: where the rollout's progress is sent (started, each step, held, promoted, rolled back, failed); a failure to send never stops the rollout"),
    ("keep", "`keep N versions`: after a successful promote, delete the oldest published versions nothing references (no alias, provisioned concurrency or event source mapping), keeping the N newest of them; never `old` or `new`"),
    ("watch", "`watch D`, right after `promote`: new, serving everything, is judged for D against old's rates from before the rollout; a violation puts old back (exit 1)"),
    ("eventbridge", "`notify eventbridge \"BUS\"`: `PutEvents` to the bus (a name in the rollout's region, or an ARN), source `rollout`"),
    ("sns", "`notify sns \"arn:aws:sns:REGION:ACCOUNT:TOPIC\"`: `Publish` to the topic, the message the notification's JSON"),
];

#[cfg(test)]
mod tests {
    use super::WORDS;

    #[test]
    fn every_keyword_of_the_grammar_has_a_meaning_to_hover() {
        let grammar = include_str!("../../grammar/rollout.pest");
        let start = grammar.find("keyword = _{").expect("the keyword rule");
        let end = start + grammar[start..].find("\n}").expect("its end");
        let missing: Vec<&str> = grammar[start..end]
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|k| !WORDS.iter().any(|(w, _)| w == k))
            .collect();
        assert!(missing.is_empty(), "no hover for {missing:?}");
    }
}
