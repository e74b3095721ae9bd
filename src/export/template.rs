//! `rollout export --format cloudformation`: the state machine in a CloudFormation template, with
//! an IAM role that may do exactly what it does, on exactly the functions, alarms and parameters
//! it touches.

use serde_json::{json, Value};

use super::{approval_parameter, execution_parameter, Export};

/// The template for `export`, whose state machine is called `name`.
pub fn cloudformation(export: &Export, name: &str) -> Value {
    let arn = |service: &str, resource: &str| json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")});
    let functions: Vec<Value> = export
        .functions
        .iter()
        .flat_map(|f| {
            [
                arn("lambda", &format!("function:{f}")),
                arn("lambda", &format!("function:{f}:*")),
            ]
        })
        .collect();
    let mut statements = vec![json!({
        "Sid": "RolloutLambda",
        "Effect": "Allow",
        "Action": ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:PublishVersion", "lambda:GetFunctionConfiguration"],
        "Resource": functions,
    })];
    if export.created_alarms > 0 || !export.alarms.is_empty() {
        // DescribeAlarms takes no resource-level permissions.
        statements.push(json!({
            "Sid": "RolloutReadAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": "*",
        }));
    }
    if export.created_alarms > 0 {
        statements.push(json!({
            "Sid": "RolloutOwnAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
            "Resource": arn("cloudwatch", "alarm:rollout-*"),
        }));
    }
    let mut parameters: Vec<Value> = export
        .functions
        .iter()
        .map(|f| {
            arn(
                "ssm",
                &format!("parameter{}", execution_parameter(f, &export.alias)),
            )
        })
        .collect();
    if export.approval {
        let parameter = approval_parameter(&export.functions[0], &export.alias);
        parameters.push(arn("ssm", &format!("parameter{parameter}")));
    }
    statements.push(json!({
        "Sid": "RolloutParameters",
        "Effect": "Allow",
        "Action": ["ssm:PutParameter"],
        "Resource": parameters,
    }));
    if export.continues {
        // A long bake continues in a fresh execution of this state machine.
        statements.push(json!({
            "Sid": "RolloutContinue",
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [
                arn("states", &format!("stateMachine:{name}")),
                arn("states", &format!("stateMachine:{name}:*")),
            ],
        }));
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("rollout: the state machine {name} and the role it runs as, exported by rollout {}", env!("CARGO_PKG_VERSION")),
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                    },
                    "Policies": [{
                        "PolicyName": "rollout",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }],
                },
            },
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": name,
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DefinitionString": {"Fn::Sub": in_any_partition(&export.definition)},
                },
            },
        },
        "Outputs": {
            "StateMachineArn": {"Value": {"Ref": "StateMachine"}},
        },
    })
}

/// `definition` as the text `Fn::Sub` takes, each task's `Resource` in the partition the stack
/// is deployed to (`${AWS::Partition}`), not the one the export assumed.
fn in_any_partition(definition: &Value) -> String {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let resource = match value {
                        Value::String(text) if key == "Resource" => text
                            .split_once(":states:::")
                            .filter(|(arn, _)| arn.starts_with("arn:"))
                            .map(|(_, rest)| format!("arn:${{AWS::Partition}}:states:::{rest}")),
                        _ => None,
                    };
                    match resource {
                        Some(resource) => *value = Value::String(resource),
                        None => walk(value),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    // Text that `Fn::Sub` would read as a variable is written `${!…}`, which it turns back.
    let mut escaped = definition.clone();
    fn literal(value: &mut Value) {
        match value {
            Value::String(text) => *text = text.replace("${", "${!"),
            Value::Object(map) => map.values_mut().for_each(literal),
            Value::Array(items) => items.iter_mut().for_each(literal),
            _ => {}
        }
    }
    literal(&mut escaped);
    walk(&mut escaped);
    serde_json::to_string_pretty(&escaped).expect("JSON serialises")
}
