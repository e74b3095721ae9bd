"""moto's server, with the JSONata of Step Functions evaluated for real: a test fixture.

moto 5.2.5 runs the Amazon States Language with LocalStack's interpreter, but its JSONata hook is
a stub (moto/stepfunctions/parser/asl/jsonata/jsonata.py: `_eval_jsonata = None`), so every
`{% ... %}` expression, and every JSONPath read of a variable (`"x.$": "$name"`), fails the
execution with States.Runtime. This wrapper

  1. evaluates those expressions with the jsonata package AWS runs (2.0.6), in one long-lived
     `node scripts/jsonata.js --lines` (its module in ROLLOUT_JSONATA_MODULE);
  2. writes string values into the expression as JSON strings (moto writes f'"{value}"', which
     breaks on a quote or a backslash);
  3. fails a state whose expression throws with States.QueryEvaluationError, as AWS does (moto
     raises a Python exception, States.Runtime, which no Catch handles);
  4. calls Step Functions' own API from a task (`arn:aws:states:::states:startExecution`) with
     the parameters AWS documents (`StateMachineArn`, `Name`, `Input`) under the names boto3
     takes (`stateMachineArn`, ...): moto hands them over as written, and boto3 fails with a
     KeyError (States.Runtime); and its answer as AWS writes it (`ExecutionArn`, `StartDate`
     as text; moto leaves a datetime, which its history cannot write as JSON);
  5. finds the variables an expression reads (`$states.context...`, whose values moto writes
     in front of it) without taking the text between two divisions for a regular expression:
     moto's pattern reads `a / b ... c / d` as the regex `/ b ... c /` and misses every
     variable in it, which is then undefined (AWS parses the expression);
  6. starts an execution of a version of a state machine (moto's interpreter fails with an
     AttributeError) and lists it under the state machine, as AWS does (moto keeps it on the
     version alone, where DescribeExecution and GetExecutionHistory by its ARN do not find
     it), describing it with the state machine's ARN and the version's, and answers ListStateMachineVersions (newest first) and DeleteStateMachineVersion,
     which moto does not implement;
  7. refuses CreateStateMachine of a name that exists with another definition or role with
     StateMachineAlreadyExists, as AWS does (moto answers with the existing state machine,
     unchanged, so that an update never happens);
  8. gives each parse of a definition its own stack of query-language scopes: moto's parser
     keeps one list for every parse on every thread (a class attribute), so that two state
     machines created at once, or one parse that failed, leave a JSONata scope behind and every
     later JSONPath definition is refused ("Unsupported declaration in QueryLanguage=JSONPath
     block");

then runs moto's server exactly as `moto_server` does, with the same arguments (-H HOST -p PORT).
"""

import json
import os
import re
import select
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
TIMEOUT_SECONDS = 60


class Node:
    """One node process answering one expression at a time (moto evaluates from many threads)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process = None
        self.next_id = 0

    def running(self):
        if self.process is None or self.process.poll() is not None:
            if not os.environ.get("ROLLOUT_JSONATA_MODULE"):
                raise RuntimeError("ROLLOUT_JSONATA_MODULE is not set: scripts/validators.sh installs jsonata")
            self.process = subprocess.Popen(
                ["node", os.path.join(HERE, "jsonata.js"), "--lines"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=sys.stderr,
            )
        return self.process

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None

    def evaluate(self, expression):
        with self.lock:
            process = self.running()
            self.next_id += 1
            line = json.dumps({"id": self.next_id, "expr": expression})
            try:
                process.stdin.write(line.encode() + b"\n")
                process.stdin.flush()
                ready, _, _ = select.select([process.stdout], [], [], TIMEOUT_SECONDS)
                answer = process.stdout.readline() if ready else b""
            except OSError as error:
                self.stop()
                return {"ok": False, "code": "NODE", "message": f"the jsonata evaluator failed: {error}"}
            if not answer:
                self.stop()
                return {"ok": False, "code": "NODE", "message": "the jsonata evaluator gave no answer"}
            reply = json.loads(answer)
            if reply.get("id") != self.next_id:
                self.stop()
                return {"ok": False, "code": "NODE", "message": "the jsonata evaluator is out of step"}
            return reply


NODE = Node()


REFERENCE = re.compile(r"\$\$|\$[A-Za-z0-9_$]+(?:\.[A-Za-z0-9_][A-Za-z0-9_$]*)*|\$")
# After one of these (or at the start) a `/` begins a regular expression; elsewhere it divides.
OPERAND_EXPECTED = set("([{,:;?=!<>&|+-*%~")


def variables(expression):
    """The variable references of a JSONata expression, outside its strings and regexes."""
    out, i, previous = [], 0, ""
    while i < len(expression):
        c = expression[i]
        if c in "\"'":
            j = i + 1
            while j < len(expression) and expression[j] != c:
                j += 2 if expression[j] == "\\" else 1
            i, previous = j + 1, c
        elif c == "/" and expression.startswith("/*", i):
            end = expression.find("*/", i + 2)
            i = len(expression) if end < 0 else end + 2
        elif c == "/" and (previous == "" or previous in OPERAND_EXPECTED):
            j = i + 1
            while j < len(expression) and expression[j] != "/":
                j += 2 if expression[j] == "\\" else 1
            i, previous = j + 1, "/"
        elif c == "$":
            match = REFERENCE.match(expression, i)
            out.append(match.group(0))
            i, previous = match.end(), "a"
        else:
            if not c.isspace():
                previous = c
            i += 1
    return out


def install():
    from moto.stepfunctions.parser.asl.jsonata import jsonata as hook
    from moto.stepfunctions.parser.asl.eval import states as states_module
    from moto.stepfunctions.parser.asl.eval import variable_store as store_module
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    def evaluate(expression):
        reply = NODE.evaluate(expression)
        if not reply.get("ok"):
            raise hook.JSONataException(reply.get("code", "UNKNOWN"), reply.get("message"))
        return None if reply.get("undefined") else reply.get("value")

    hook._eval_jsonata = evaluate

    def declarations(bindings):
        parts = []
        for name, value in bindings.items():
            literal = json.dumps(value) if isinstance(value, str) else to_json_str(value, separators=(",", ":"))
            parts.append(f"{name}:={literal};")
        return "".join(parts)

    for module in (hook, states_module, store_module):
        module.encode_jsonata_variable_declarations = declarations

    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    original = string_expression.StringJSONata._eval_body

    def eval_body(self, env):
        try:
            original(self, env)
        except hook.JSONataException as error:
            name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
            cause = (
                f"The JSONata expression '{self.expression}' threw an error during evaluation. "
                f"{error.error}: {error.details}"
            )
            failure = FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=name,
                    event_type=HistoryEventType.EvaluationFailed,
                    event_details=EventDetails(
                        evaluationFailedEventDetails=EvaluationFailedEventDetails(
                            error=name.error_name, cause=cause
                        )
                    ),
                )
            )
            env.event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.EvaluationFailed,
                event_details=EventDetails(
                    evaluationFailedEventDetails=failure.get_evaluation_failed_event_details()
                ),
            )
            raise failure from error

    string_expression.StringJSONata._eval_body = eval_body

    def references(expression):
        if not expression:
            return set()
        found = set()
        for name in variables(expression):
            if name in ("$", "$$"):
                raise hook.IllegalJSONataVariableReference(variable_reference=name)
            found.add(name)
        return found

    from moto.stepfunctions.parser.asl.static_analyser import variable_references_static_analyser
    from moto.stepfunctions.parser.asl.static_analyser.intrinsic import (
        variable_names_intrinsic_static_analyser,
    )

    for module in (hook, string_expression, variable_references_static_analyser,
                   variable_names_intrinsic_static_analyser):
        module.extract_jsonata_variable_references = references

    import botocore.session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn_module,
    )

    model = botocore.session.get_session().get_service_model("stepfunctions")
    normalise = sfn_module.StateTaskServiceSfn._normalise_parameters

    def boto_names(self, parameters, boto_service_name=None, service_action_name=None):
        normalise(self, parameters, boto_service_name, service_action_name)
        action = self._get_boto_service_action()
        operation = "".join(part.capitalize() for part in action.split("_"))
        members = model.operation_model(operation).input_shape.members
        by_lower = {name.lower(): name for name in members}
        for key in list(parameters):
            name = by_lower.get(key.lower())
            if name is not None and name != key:
                parameters[name] = parameters.pop(key)

    sfn_module.StateTaskServiceSfn._normalise_parameters = boto_names

    import datetime

    answer = sfn_module.StateTaskServiceSfn._normalise_response

    def dated(self, response, boto_service_name=None, service_action_name=None):
        answer(self, response, boto_service_name, service_action_name)
        if isinstance(response, dict):
            for key, value in list(response.items()):
                del response[key]
                if isinstance(value, datetime.datetime):
                    value = value.isoformat()
                response[key[:1].upper() + key[1:]] = value

    sfn_module.StateTaskServiceSfn._normalise_response = dated

    from moto.core.responses import ActionResult, EmptyResult
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse

    from moto.stepfunctions.models import StateMachine, StateMachineVersion

    started = StepFunctionsParserBackend.start_execution
    StateMachineVersion._handle_name_input_idempotency = StateMachine._handle_name_input_idempotency

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        machine = self.describe_state_machine(state_machine_arn)
        source = getattr(machine, "source_arn", None)
        owner = None
        if source is not None:
            owner = next(m for m in self.state_machines if m.arn == source)
            if not hasattr(machine, "backend"):
                machine.backend = owner.backend
        execution = started(self, state_machine_arn, name, execution_input, trace_header)
        if owner is not None:
            execution.state_machine_arn = owner.arn
            execution.state_machine_version_arn = machine.arn
            if execution not in owner.executions:
                owner.executions.append(execution)
        return execution

    StepFunctionsParserBackend.start_execution = start_execution

    def list_state_machine_versions(self):
        machine = self.stepfunction_backend.describe_state_machine(self._get_param("stateMachineArn"))
        versions = sorted(machine.versions.values(), key=lambda v: v.version, reverse=True)
        return ActionResult({"stateMachineVersions": [
            {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
        ]})

    def delete_state_machine_version(self):
        source, number = self._get_param("stateMachineVersionArn").rsplit(":", 1)
        machine = self.stepfunction_backend.describe_state_machine(source)
        machine.versions.pop(int(number), None)
        return EmptyResult()

    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    visit = Preprocessor.visit

    def own_scopes(self, tree):
        if "_query_language_per_scope" not in self.__dict__:
            self._query_language_per_scope = []
        return visit(self, tree)

    Preprocessor.visit = own_scopes

    from moto.core.exceptions import AWSError

    class StateMachineAlreadyExists(AWSError):
        TYPE = "StateMachineAlreadyExists"
        STATUS = 400

    created = StepFunctionsParserBackend.create_state_machine

    def create_state_machine(self, name, definition, roleArn, *args, **kwargs):
        for machine in self.state_machines:
            if machine.name == name and (machine.definition != definition or machine.roleArn != roleArn):
                raise StateMachineAlreadyExists(f"State Machine Already Exists: '{machine.arn}'")
        return created(self, name, definition, roleArn, *args, **kwargs)

    StepFunctionsParserBackend.create_state_machine = create_state_machine

    described = StepFunctionResponse.describe_execution

    def describe_execution(self):
        answer = described(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        version = getattr(execution, "state_machine_version_arn", None)
        if version is not None:
            answer.result["stateMachineVersionArn"] = version
        return answer

    StepFunctionResponse.describe_execution = describe_execution
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions
    StepFunctionResponse.delete_state_machine_version = delete_state_machine_version


if __name__ == "__main__":
    install()
    from moto.server import main

    sys.argv[0] = "moto_server"
    main()
