//! Offline rules of `baseline.conformance_packs`, reported like the rest of `validate`: at the
//! value's line and column — inside the template file for a problem in a template — all at once.
//!
//! A template has the shape AWS documents for conformance packs: a `Parameters` section and a
//! `Resources` section whose entries are Config rules (`Type: AWS::Config::ConfigRule` with
//! `Properties` naming `ConfigRuleName` and a `Source` {`Owner`, `SourceIdentifier`}) or
//! remediation actions (https://docs.aws.amazon.com/config/latest/developerguide/custom-conformance-pack.html;
//! "You can use a YAML template with two resource types: Config rule (AWS::Config::ConfigRule) and
//! remediation action (AWS::Config::RemediationConfiguration)":
//! https://docs.aws.amazon.com/config/latest/APIReference/API_PutConformancePack.html). The pack's
//! name and the body's size are limited by PutOrganizationConformancePack:
//! https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html.

use serde_yaml::Value as Yaml;

use super::super::diagnostic::{did_you_mean, SpecDiagnostic};
use super::super::templates::PackTemplate;
use super::Checker;

/// `OrganizationConformancePackName`: 1-128 characters, pattern `[a-zA-Z][-a-zA-Z0-9]*`.
const MAX_NAME: usize = 128;
/// `TemplateBody`: 1 to 51,200 bytes.
pub const MAX_TEMPLATE_BODY: usize = 51_200;
/// `ConfigRuleName` of AWS::Config::ConfigRule: 1-128 characters
/// (https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigRule.html).
const MAX_RULE_NAME: usize = 128;
/// The sections a template may have: the two AWS's guide requires and the CloudFormation sections
/// its sample templates use (`Conditions` to leave out an unset parameter).
const SECTIONS: [&str; 7] =
    ["AWSTemplateFormatVersion", "Conditions", "Description", "Mappings", "Metadata", "Parameters", "Resources"];
const RULE: &str = "AWS::Config::ConfigRule";
const REMEDIATION: &str = "AWS::Config::RemediationConfiguration";
/// `Source.Owner` of a Config rule (https://docs.aws.amazon.com/config/latest/APIReference/API_Source.html).
const OWNERS: [&str; 3] = ["AWS", "CUSTOM_LAMBDA", "CUSTOM_POLICY"];

/// Whether `name` is a valid organization conformance pack name.
pub fn is_pack_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
        && name.len() <= MAX_NAME
}

/// A scalar, or a CloudFormation short form (`!Sub ...`) standing for one.
fn is_text(value: &Yaml) -> bool {
    match value {
        Yaml::String(text) => !text.trim().is_empty(),
        Yaml::Tagged(_) => true,
        // `Fn::Sub`/`Ref` in their long form.
        Yaml::Mapping(map) => {
            map.len() == 1
                && map.keys().any(|key| key.as_str().is_some_and(|key| key == "Ref" || key.starts_with("Fn::")))
        }
        _ => false,
    }
}

impl Checker<'_> {
    /// The offline rules of `baseline.conformance_packs` and its templates (run by that
    /// baseline's `validate`): template files are the spec's, checked like policy documents.
    pub fn conformance_packs(&mut self) {
        let spec = &self.valid.spec;
        let packs = &spec.baseline.conformance_packs;
        if packs.is_empty() {
            return;
        }
        if spec.baseline.aws_config.is_none() {
            self.error_at(
                &["baseline", "conformance_packs"],
                true,
                "conformance packs evaluate what AWS Config records: `baseline.conformance_packs` needs `baseline.aws_config`".to_string(),
                Some("add `aws_config: { targets: { units: [Root] } }` under `baseline`".to_string()),
            );
        }
        if spec.organization.management_account.is_none() {
            self.error_at(
                &["baseline", "conformance_packs"],
                true,
                "organization conformance packs are deployed from the management account: `organization.management_account` must name it".to_string(),
                Some("add `management_account: <name of the management account entry>` under `organization`".to_string()),
            );
        }
        for name in packs.keys() {
            if !is_pack_name(name) {
                self.error_at(
                    &["baseline", "conformance_packs", name],
                    true,
                    format!("`{name}` is not a valid conformance pack name: 1-{MAX_NAME} letters, digits and hyphens, starting with a letter"),
                    None,
                );
            }
            let Some(template) = self.valid.conformance_pack_templates.get(name) else { continue };
            let mut problems = Vec::new();
            template_problems(template, &mut problems);
            let reference_path = ["baseline", "conformance_packs", name.as_str(), "template"];
            let reference =
                self.valid.spans.value(&reference_path).unwrap_or_else(|| self.valid.source.span_at(1, 1, 1));
            let referenced =
                format!("referenced from {}:{}:{}", self.valid.source.name(), reference.line, reference.column);
            for problem in problems {
                let position = if problem.at_key {
                    template.index.key(&problem.path)
                } else {
                    template.index.value(&problem.path)
                };
                let span = position.unwrap_or_else(|| template.source.span_at(1, 1, 1));
                let help = match problem.hint {
                    Some(hint) => format!("{hint} ({referenced})"),
                    None => referenced.clone(),
                };
                self.errors.push(
                    SpecDiagnostic::new(&template.source, span, problem.message).with_label("here").with_help(help),
                );
            }
            let size = spec.baseline.conformance_packs[name].body.as_ref().map_or(0, String::len);
            if size > MAX_TEMPLATE_BODY {
                self.error(
                    &reference_path,
                    format!("the template of `{name}` is {size} bytes as deployed; AWS accepts a template body of at most {MAX_TEMPLATE_BODY} bytes"),
                    Some("split the rules into two packs".to_string()),
                );
            }
        }
    }
}

/// A problem inside a template, at a path of the template's keys.
struct Problem<'a> {
    path: Vec<&'a str>,
    at_key: bool,
    message: String,
    hint: Option<String>,
}

fn problem<'a>(path: &[&'a str], at_key: bool, message: String, hint: Option<String>) -> Problem<'a> {
    Problem { path: path.to_vec(), at_key, message, hint }
}

/// Every departure of `template` from the documented shape.
fn template_problems<'a>(template: &'a PackTemplate, out: &mut Vec<Problem<'a>>) {
    let Some(sections) = template.value.as_mapping() else {
        out.push(problem(
            &[],
            false,
            "a conformance pack template is a mapping of sections (`Parameters`, `Resources`)".to_string(),
            None,
        ));
        return;
    };
    for key in sections.keys() {
        let Some(key) = key.as_str() else { continue };
        if !SECTIONS.contains(&key) {
            let hint = did_you_mean(key, SECTIONS.iter().copied())
                .or_else(|| Some(format!("a conformance pack template has the sections {}", SECTIONS.join(", "))));
            out.push(problem(&[key], true, format!("unknown template section `{key}`"), hint));
        }
    }
    if let Some(parameters) = sections.get("Parameters") {
        if !parameters.is_mapping() && !parameters.is_null() {
            out.push(problem(
                &["Parameters"],
                false,
                "`Parameters` is a mapping of parameter names to their declarations".to_string(),
                None,
            ));
        }
    }
    let Some(resources) = sections.get("Resources") else {
        out.push(problem(
            &[],
            false,
            "the template has no `Resources`: a conformance pack needs at least one Config rule".to_string(),
            Some("add `Resources:` with an entry of `Type: AWS::Config::ConfigRule`".to_string()),
        ));
        return;
    };
    let Some(resources) = resources.as_mapping().filter(|resources| !resources.is_empty()) else {
        out.push(problem(
            &["Resources"],
            false,
            "`Resources` must be a mapping with at least one Config rule".to_string(),
            None,
        ));
        return;
    };
    for (logical, resource) in resources {
        let Some(logical) = logical.as_str() else { continue };
        let base = ["Resources", logical];
        let Some(resource) = resource.as_mapping() else {
            out.push(problem(
                &base,
                false,
                format!("resource `{logical}` must be a mapping with `Type` and `Properties`"),
                None,
            ));
            continue;
        };
        let kind = resource.get("Type").and_then(Yaml::as_str);
        match kind {
            Some(RULE | REMEDIATION) => {}
            Some(other) => {
                out.push(problem(&["Resources", logical, "Type"], false, format!("resource `{logical}` is of type `{other}`; a conformance pack holds only `{RULE}` and `{REMEDIATION}`"), None));
                continue;
            }
            None => {
                out.push(problem(
                    &base,
                    true,
                    format!("resource `{logical}` has no `Type`"),
                    Some(format!("add `Type: {RULE}`")),
                ));
                continue;
            }
        }
        let Some(properties) = resource.get("Properties").and_then(Yaml::as_mapping) else {
            out.push(problem(&base, true, format!("resource `{logical}` has no `Properties` mapping"), None));
            continue;
        };
        if kind != Some(RULE) {
            continue;
        }
        match properties.get("ConfigRuleName") {
            None => out.push(problem(
                &["Resources", logical, "Properties"],
                true,
                format!("Config rule `{logical}` has no `ConfigRuleName`"),
                None,
            )),
            Some(Yaml::String(name)) if name.trim().is_empty() || name.chars().count() > MAX_RULE_NAME => {
                out.push(problem(
                    &["Resources", logical, "Properties", "ConfigRuleName"],
                    false,
                    format!("`ConfigRuleName` must be 1-{MAX_RULE_NAME} characters, not blank"),
                    None,
                ))
            }
            // "AWS Config does not support ... CloudFormation intrinsic functions for ConfigRuleName":
            // https://docs.aws.amazon.com/config/latest/developerguide/cpack-prerequisites.html
            Some(name) if !matches!(name, Yaml::String(_)) => out.push(problem(
                &["Resources", logical, "Properties", "ConfigRuleName"],
                false,
                "`ConfigRuleName` must be the rule's full name as a plain string: AWS Config does not support CloudFormation intrinsic functions there".to_string(),
                None,
            )),
            Some(_) => {}
        }
        let Some(source) = properties.get("Source").and_then(Yaml::as_mapping) else {
            out.push(problem(
                &["Resources", logical, "Properties"],
                true,
                format!("Config rule `{logical}` has no `Source` mapping (`Owner`, `SourceIdentifier`)"),
                Some("for a managed rule: `Source: { Owner: AWS, SourceIdentifier: IAM_PASSWORD_POLICY }`".to_string()),
            ));
            continue;
        };
        let source_path = ["Resources", logical, "Properties", "Source"];
        let owner = source.get("Owner").and_then(Yaml::as_str);
        match owner {
            Some(owner) if OWNERS.contains(&owner) => {}
            Some(owner) => out.push(problem(
                &["Resources", logical, "Properties", "Source", "Owner"],
                false,
                format!("`{owner}` is not a rule owner: one of {}", OWNERS.join(", ")),
                did_you_mean(owner, OWNERS.iter().copied()),
            )),
            None => out.push(problem(
                &source_path,
                true,
                format!("the `Source` of `{logical}` has no `Owner`"),
                Some("`Owner: AWS` for a managed rule".to_string()),
            )),
        }
        // Custom policy rules carry their policy instead of an identifier (API_Source.html).
        let needs_identifier = owner != Some("CUSTOM_POLICY");
        match source.get("SourceIdentifier") {
            Some(identifier) if is_text(identifier) => {}
            Some(_) => out.push(problem(
                &["Resources", logical, "Properties", "Source", "SourceIdentifier"],
                false,
                "`SourceIdentifier` must be a non-empty string".to_string(),
                None,
            )),
            None if needs_identifier => out.push(problem(
                &source_path,
                true,
                format!("the `Source` of `{logical}` has no `SourceIdentifier`"),
                Some("the managed rule's identifier, e.g. `IAM_PASSWORD_POLICY`".to_string()),
            )),
            None => {}
        }
        if let Some(parameters) = properties.get("InputParameters") {
            if !parameters.is_mapping() && !matches!(parameters, Yaml::String(_)) {
                out.push(problem(
                    &["Resources", logical, "Properties", "InputParameters"],
                    false,
                    "`InputParameters` is a mapping of parameter names to values".to_string(),
                    None,
                ));
            }
        }
        if let Some(scope) = properties.get("Scope") {
            if !scope.is_mapping() {
                out.push(problem(
                    &["Resources", logical, "Properties", "Scope"],
                    false,
                    "`Scope` is a mapping (`ComplianceResourceTypes`, `TagKey`, ...)".to_string(),
                    None,
                ));
            }
        }
    }
}
