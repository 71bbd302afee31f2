//! Conformance pack templates (`baseline.conformance_packs.<name>.template`): read from the spec's
//! directory at load time, indexed for locations, parsed, and turned into the body landing-zone
//! deploys. The rules a template must follow are checked in `validate_conformance_packs.rs`; this
//! module reads files and owns no rule.

use std::path::Path;

use super::diagnostic::SpecDiagnostic;
use super::files::{self, FileError, MAX_DOCUMENT_BYTES};
use super::source::{index_template_yaml, SourceFile, SpanIndex};

/// The parameter landing-zone adds to every template it deploys, set to the SHA-256 of the
/// template file: DescribeOrganizationConformancePacks returns a pack's input parameters but not
/// its template (https://docs.aws.amazon.com/config/latest/APIReference/API_OrganizationConformancePack.html),
/// so this is how a template edited in the spec is told from the one deployed. Its value is the
/// SHA-256 of the body deployed (`baseline::conformance_packs`).
pub const TEMPLATE_HASH_PARAMETER: &str = "LandingZoneTemplateSha256";

/// One loaded template.
#[derive(Debug, Clone)]
pub struct PackTemplate {
    /// The file, for locating problems inside it.
    pub source: SourceFile,
    /// Where each key and value of the file is.
    pub index: SpanIndex,
    /// The parsed template (CloudFormation short forms such as `!Ref` kept as tagged values).
    pub value: serde_yaml::Value,
}

impl PackTemplate {
    /// The body sent as `TemplateBody`: the template with [`TEMPLATE_HASH_PARAMETER`] declared
    /// under `Parameters`. None when the template is not a mapping (validation reports it).
    pub fn deployed_body(&self) -> Option<String> {
        let mut template = self.value.as_mapping()?.clone();
        let parameters = template
            .entry(serde_yaml::Value::from("Parameters"))
            .or_insert_with(|| serde_yaml::Value::Mapping(serde_yaml::Mapping::new()));
        if parameters.is_null() {
            *parameters = serde_yaml::Value::Mapping(serde_yaml::Mapping::new());
        }
        let mut declaration = serde_yaml::Mapping::new();
        declaration.insert("Type".into(), "String".into());
        parameters.as_mapping_mut()?.insert(TEMPLATE_HASH_PARAMETER.into(), declaration.into());
        serde_yaml::to_string(&serde_yaml::Value::Mapping(template)).ok()
    }
}

/// Reads and parses the template `relative` to `spec_dir`. `referenced_from` names the spec's
/// `template:` value (`file:line:column`) for the hints of problems found inside the file;
/// `refused` builds the diagnostic for a file that cannot be read, at the spec's value.
pub fn load(
    spec_dir: &Path,
    relative: &str,
    referenced_from: &str,
    refused: impl FnOnce(String, &'static str) -> SpecDiagnostic,
) -> Result<PackTemplate, Vec<SpecDiagnostic>> {
    let read = files::resolve_inside(spec_dir, relative)
        .and_then(|file| files::read_regular_file(&file, relative, MAX_DOCUMENT_BYTES));
    let text = match read {
        Ok(text) => files::strip_bom(text),
        Err(error) => {
            let hint = error.hint().unwrap_or("paths are relative to the spec file's directory");
            let message = match &error {
                FileError::Io { source, .. } => {
                    format!("conformance pack template `{relative}` cannot be read: {source}")
                }
                other => format!("conformance pack template refused: {other}"),
            };
            return Err(vec![refused(message, hint)]);
        }
    };
    let source = SourceFile::new(&spec_dir.join(relative), text);
    let with_reference = |diagnostic: SpecDiagnostic| {
        let help = match &diagnostic.help {
            Some(help) => format!("{help} (referenced from {referenced_from})"),
            None => format!("referenced from {referenced_from}"),
        };
        diagnostic.with_help(help)
    };
    let index =
        index_template_yaml(&source).map_err(|errors| errors.into_iter().map(with_reference).collect::<Vec<_>>())?;
    let value: serde_yaml::Value = match serde_yaml::from_str(&source.text) {
        Ok(value) => value,
        Err(error) => {
            let span = match error.location() {
                Some(location) => source.span_at(location.line(), location.column(), 1),
                None => source.span_at(1, 1, 1),
            };
            let message = error.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_string();
            return Err(vec![with_reference(
                SpecDiagnostic::new(&source, span, format!("invalid YAML: {message}")).with_label("here"),
            )]);
        }
    };
    Ok(PackTemplate { source, index, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> PackTemplate {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("pack.yaml"), text).expect("write");
        let refused = |message: String, _hint: &'static str| SpecDiagnostic::whole_file("pack.yaml", message);
        load(dir.path(), "pack.yaml", "landing-zone.yaml:1:1", refused).expect("loads")
    }

    #[test]
    fn the_deployed_body_declares_the_hash_parameter_and_keeps_short_forms() {
        let loaded = template(
            "Parameters:\n  Age: { Type: String, Default: \"90\" }\nResources:\n  Rule:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      InputParameters: { maxAccessKeyAge: !Ref Age }\n",
        );
        let body = loaded.deployed_body().expect("a body");
        let deployed: serde_yaml::Value = serde_yaml::from_str(&body).expect("yaml");
        assert_eq!(deployed["Parameters"][TEMPLATE_HASH_PARAMETER]["Type"], "String", "{body}");
        assert_eq!(deployed["Parameters"]["Age"]["Default"], "90", "{body}");
        assert!(body.contains("!Ref Age"), "{body}");

        let without = template("Resources: {}\n").deployed_body().expect("a body");
        assert!(without.contains(TEMPLATE_HASH_PARAMETER), "{without}");
        assert!(template("- a list\n").deployed_body().is_none());
    }
}
