// Evaluates JSONata with the jsonata package Step Functions runs (2.0.6, installed by
// scripts/validators.sh; its directory in ROLLOUT_JSONATA_MODULE). Two ways:
//
//   node scripts/jsonata.js FILE     FILE holds {"expression": "...", "inputs": [...]}; prints a
//                                    JSON array with, for each input, {"value": result} or
//                                    {"error": "code: message"} (the judge's tests).
//   node scripts/jsonata.js --lines  reads {"id", "expr"} lines on stdin and answers each with a
//                                    line {"id", "ok": true, "value"} ("undefined": true when the
//                                    expression gives nothing) or {"id", "ok": false, "code",
//                                    "message"}, in order (moto's interpreter, through
//                                    scripts/moto_server.py).
"use strict";
const fs = require("fs");
const readline = require("readline");
const jsonata = require(process.env.ROLLOUT_JSONATA_MODULE);

async function batch(file) {
  const job = JSON.parse(fs.readFileSync(file, "utf8"));
  const expression = jsonata(job.expression);
  const results = [];
  for (const input of job.inputs) {
    try {
      const value = await expression.evaluate(input);
      results.push({ value: value === undefined ? null : value });
    } catch (e) {
      results.push({ error: `${e.code}: ${e.message}` });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

async function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    return { id: null, ok: false, code: "BAD_REQUEST", message: String(e) };
  }
  try {
    const value = await jsonata(request.expr).evaluate(undefined);
    if (value === undefined) return { id: request.id, ok: true, undefined: true };
    return { id: request.id, ok: true, value: JSON.parse(JSON.stringify(value) ?? "null") };
  } catch (e) {
    return { id: request.id, ok: false, code: (e && e.code) || "UNKNOWN", message: (e && e.message) || String(e) };
  }
}

function lines() {
  let chain = Promise.resolve();
  const input = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  input.on("line", (line) => {
    if (!line.trim()) return;
    chain = chain.then(async () => process.stdout.write(JSON.stringify(await answer(line)) + "\n"));
  });
  input.on("close", () => chain.then(() => process.exit(0)));
}

if (process.argv[2] === "--lines") {
  lines();
} else {
  batch(process.argv[2]).catch((e) => {
    process.stderr.write(`${e.code || ""} ${e.message}\n`);
    process.exit(2);
  });
}
