//! Which field of which v1 request message has which rule: the table the OpenAPI document
//! publishes (minLength/maxLength, required, formats, enums). The numbers are the domain's
//! ([`persona_domain::rules`]); a test drives every entry through the domain's validators, so the
//! table cannot drift from what is enforced.

use persona_domain::rules::{DESCRIPTION, LANGUAGE, Length, NAME, OPTIONAL_NAME};

/// What one rule demands of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A text field's length.
    Length(Length),
    /// An embedded message that must be present.
    Required,
    /// A valid email address ([`crate::commands::is_valid_email`], after trimming).
    Email,
    /// At least one role, each an org role ([`crate::auth::Role`] that is not `IAM_*`).
    OrgRoles,
    /// A field Persona cannot store: it must be left empty (CONTRACT section 2, import).
    Unsupported,
}

/// One rule of one request field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRule {
    /// The message as the error texts name it: `UpdateHumanProfileRequest`, nested messages as
    /// `AddHumanUserRequest_Profile`.
    pub message: &'static str,
    /// The field's proto3 JSON name (`firstName`).
    pub field: &'static str,
    /// What it demands.
    pub rule: Rule,
}

const fn length(message: &'static str, field: &'static str, length: Length) -> FieldRule {
    FieldRule { message, field, rule: Rule::Length(length) }
}

const fn required(message: &'static str, field: &'static str) -> FieldRule {
    FieldRule { message, field, rule: Rule::Required }
}

const fn email(message: &'static str, field: &'static str) -> FieldRule {
    FieldRule { message, field, rule: Rule::Email }
}

const fn unsupported(message: &'static str, field: &'static str) -> FieldRule {
    FieldRule { message, field, rule: Rule::Unsupported }
}

/// Every rule of every request message, in field order.
pub const FIELD_RULES: &[FieldRule] = &[
    length("UpdateHumanProfileRequest", "userId", NAME),
    length("UpdateHumanProfileRequest", "firstName", NAME),
    length("UpdateHumanProfileRequest", "lastName", NAME),
    length("UpdateHumanProfileRequest", "nickName", OPTIONAL_NAME),
    length("UpdateHumanProfileRequest", "displayName", NAME),
    length("UpdateHumanProfileRequest", "preferredLanguage", LANGUAGE),
    length("AddHumanUserRequest", "userName", NAME),
    required("AddHumanUserRequest", "profile"),
    required("AddHumanUserRequest", "email"),
    length("AddHumanUserRequest_Profile", "firstName", NAME),
    length("AddHumanUserRequest_Profile", "lastName", NAME),
    length("AddHumanUserRequest_Profile", "nickName", OPTIONAL_NAME),
    length("AddHumanUserRequest_Profile", "displayName", OPTIONAL_NAME),
    length("AddHumanUserRequest_Profile", "preferredLanguage", LANGUAGE),
    email("AddHumanUserRequest_Email", "email"),
    unsupported("AddHumanUserRequest", "initialPassword"),
    length("ImportHumanUserRequest", "userName", NAME),
    required("ImportHumanUserRequest", "profile"),
    required("ImportHumanUserRequest", "email"),
    length("ImportHumanUserRequest_Profile", "firstName", NAME),
    length("ImportHumanUserRequest_Profile", "lastName", NAME),
    length("ImportHumanUserRequest_Profile", "nickName", OPTIONAL_NAME),
    length("ImportHumanUserRequest_Profile", "displayName", OPTIONAL_NAME),
    length("ImportHumanUserRequest_Profile", "preferredLanguage", LANGUAGE),
    email("ImportHumanUserRequest_Email", "email"),
    unsupported("ImportHumanUserRequest", "password"),
    unsupported("ImportHumanUserRequest", "hashedPassword"),
    unsupported("ImportHumanUserRequest", "passwordChangeRequired"),
    unsupported("ImportHumanUserRequest", "requestPasswordlessRegistration"),
    unsupported("ImportHumanUserRequest", "otpCode"),
    unsupported("ImportHumanUserRequest", "idps"),
    length("AddMachineUserRequest", "userName", NAME),
    length("AddMachineUserRequest", "name", NAME),
    length("AddMachineUserRequest", "description", DESCRIPTION),
    length("AddMachineUserRequest", "userId", OPTIONAL_NAME),
    length("AddOrgRequest", "name", NAME),
    length("AddOrgMemberRequest", "userId", NAME),
    FieldRule { message: "AddOrgMemberRequest", field: "roles", rule: Rule::OrgRoles },
    length("GetHumanProfileRequest", "userId", NAME),
    length("GetUserByIDRequest", "id", NAME),
    length("RemoveUserRequest", "id", NAME),
    length("ListUserChangesRequest", "userId", NAME),
    length("AddPersonalAccessTokenRequest", "userId", NAME),
];

#[cfg(test)]
mod tests {
    use super::*;
    use persona_domain::UpdateHumanProfileRequest;
    use persona_domain::commands::{
        AddMachineUserRequest, EmailInput, NewHumanRequest, ProfileInput, UnsupportedHumanFields, validate_member,
        validate_org_name, validate_user_id,
    };
    use persona_domain::error::Error;
    use persona_domain::language::LanguagePolicy;

    fn new_human() -> NewHumanRequest {
        NewHumanRequest {
            user_name: "ada".into(),
            profile: Some(ProfileInput { first_name: "Ada".into(), last_name: "L".into(), ..Default::default() }),
            email: Some(EmailInput { email: "ada@example.com".into(), is_email_verified: false }),
            phone: None,
        }
    }

    fn update() -> UpdateHumanProfileRequest {
        UpdateHumanProfileRequest {
            user_id: "1".into(),
            first_name: "Ada".into(),
            last_name: "L".into(),
            display_name: "Ada L".into(),
            ..Default::default()
        }
    }

    /// Validates a valid request of `rule.message` whose `rule.field` is set to `value`
    /// (`None`: the embedded message left out); `None` when this test knows no validator for it.
    fn validate(rule: &'static FieldRule, value: Option<&str>) -> Option<Result<(), Error>> {
        let text = value.unwrap_or_default().to_owned();
        let any = LanguagePolicy::any();
        let human = |set: &dyn Fn(&mut NewHumanRequest)| {
            let mut request = new_human();
            set(&mut request);
            Some(request.validate(&UnsupportedHumanFields::default(), &any).map(drop))
        };
        if rule.rule == Rule::Unsupported {
            // The adapters flag a field that is set; `None` here stands for "set".
            let set = value.is_none();
            let mut flags = UnsupportedHumanFields::default();
            let flag = match rule.field {
                "initialPassword" | "password" => &mut flags.password,
                "hashedPassword" => &mut flags.hashed_password,
                "passwordChangeRequired" => &mut flags.password_change_required,
                "requestPasswordlessRegistration" => &mut flags.passwordless_registration,
                "otpCode" => &mut flags.otp_code,
                "idps" => &mut flags.idps,
                _ => return None,
            };
            *flag = set;
            return Some(new_human().validate(&flags, &any).map(drop));
        }
        match (rule.message, rule.field) {
            ("UpdateHumanProfileRequest", field) => {
                let mut request = update();
                let slot = match field {
                    "userId" => &mut request.user_id,
                    "firstName" => &mut request.first_name,
                    "lastName" => &mut request.last_name,
                    "nickName" => &mut request.nick_name,
                    "displayName" => &mut request.display_name,
                    "preferredLanguage" => &mut request.preferred_language,
                    _ => return None,
                };
                *slot = text;
                Some(request.validate(&any).map(drop))
            }
            ("AddHumanUserRequest" | "ImportHumanUserRequest", "userName") => human(&|r| r.user_name.clone_from(&text)),
            ("AddHumanUserRequest" | "ImportHumanUserRequest", "profile") => human(&|r| {
                if value.is_none() {
                    r.profile = None;
                }
            }),
            ("AddHumanUserRequest" | "ImportHumanUserRequest", "email") => human(&|r| {
                if value.is_none() {
                    r.email = None;
                }
            }),
            ("AddHumanUserRequest_Profile" | "ImportHumanUserRequest_Profile", field) => human(&|r| {
                if let Some(p) = r.profile.as_mut() {
                    match field {
                        "firstName" => p.first_name.clone_from(&text),
                        "lastName" => p.last_name.clone_from(&text),
                        "nickName" => p.nick_name.clone_from(&text),
                        "displayName" => p.display_name.clone_from(&text),
                        "preferredLanguage" => p.preferred_language.clone_from(&text),
                        _ => p.first_name = "unknown field".into(),
                    }
                }
            }),
            ("AddHumanUserRequest_Email" | "ImportHumanUserRequest_Email", "email") => {
                human(&|r| r.email = Some(EmailInput { email: text.clone(), is_email_verified: false }))
            }
            ("AddMachineUserRequest", field) => {
                let mut request = AddMachineUserRequest {
                    user_name: "robot".into(),
                    name: "Robot".into(),
                    description: String::new(),
                    access_token_type: 0,
                    user_id: None,
                };
                match field {
                    "userName" => request.user_name = text,
                    "name" => request.name = text,
                    "description" => request.description = text,
                    "userId" => request.user_id = Some(text),
                    _ => return None,
                }
                Some(request.into_event("7".into()).map(drop))
            }
            ("AddOrgRequest", "name") => Some(validate_org_name(&text).map(drop)),
            ("AddOrgMemberRequest", "userId") => Some(validate_member(&text, &["ORG_OWNER".into()]).map(drop)),
            ("AddOrgMemberRequest", "roles") => {
                let roles: Vec<String> =
                    value.map(|names| names.split(',').map(str::to_owned).collect()).unwrap_or_default();
                Some(validate_member("1", &roles).map(drop))
            }
            // The service validates these ids with `validate_user_id` (the domain calls the field
            // `userId`; GetUserByID and RemoveUser name it `id` on the wire).
            (_, "userId" | "id") => Some(validate_user_id(&text).map(drop)),
            _ => None,
        }
    }

    /// Whether `result` is the refusal `rule` stands for.
    fn refused_by(result: Option<Result<(), Error>>, rule: &FieldRule) -> bool {
        let Some(Err(error)) = result else { return false };
        match rule.rule {
            Rule::Email => error.id() == Some("EMAIL-599BI"),
            Rule::OrgRoles => error.id() == Some("ORG-4N8es"),
            Rule::Unsupported => error.id() == Some("PERSONA-IMP01"),
            Rule::Length(_) | Rule::Required => error.field_violations().iter().any(|v| {
                let domain_name = if rule.field == "id" { "userId" } else { rule.field };
                v.field == domain_name || v.field.ends_with(&format!(".{domain_name}"))
            }),
        }
    }

    #[test]
    fn every_published_rule_is_what_the_validators_enforce() {
        for rule in FIELD_RULES {
            let at = |value: Option<&str>| validate(rule, value);
            let valid = match (rule.rule, rule.field) {
                (Rule::Email, _) => "a.b@example.com",
                (Rule::OrgRoles, _) => "ORG_OWNER,ORG_OWNER_VIEWER",
                (_, "preferredLanguage") => "en",
                _ => "x",
            };
            assert!(matches!(at(Some(valid)), Some(Ok(()))), "{rule:?}: a valid request passes");
            match rule.rule {
                Rule::Length(Length { min, max }) => {
                    // The longest language tag that is also well-formed.
                    let longest =
                        if rule.field == "preferredLanguage" { "en-GB-x-ab".to_owned() } else { "x".repeat(max) };
                    assert_eq!(longest.chars().count(), max);
                    assert!(matches!(at(Some(&longest)), Some(Ok(()))), "{rule:?}: {max} characters pass");
                    assert!(refused_by(at(Some(&"x".repeat(max + 1))), rule), "{rule:?}: {} are refused", max + 1);
                    if min == 0 {
                        assert!(matches!(at(Some("")), Some(Ok(()))), "{rule:?}: empty passes");
                    } else {
                        assert!(refused_by(at(Some("")), rule), "{rule:?}: empty is refused");
                    }
                }
                Rule::Required => assert!(refused_by(at(None), rule), "{rule:?}: absent is refused"),
                Rule::Email => assert!(refused_by(at(Some("not an address")), rule), "{rule:?}"),
                Rule::OrgRoles => {
                    for roles in [None, Some("IAM_OWNER"), Some("ORG_OWNER,NOPE")] {
                        assert!(refused_by(at(roles), rule), "{rule:?}: {roles:?} is refused");
                    }
                }
                Rule::Unsupported => assert!(refused_by(at(None), rule), "{rule:?}: set is refused"),
            }
        }
    }
}
