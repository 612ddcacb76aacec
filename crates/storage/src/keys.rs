//! The lower-cased key columns of `users` that case-ignoring searches compare and index. They
//! are computed here, in Rust, with [`str::to_lowercase`] — the domain's own way of ignoring
//! case — because SQLite's `lower()` folds ASCII only.

use crate::entities::users;
use persona_domain::query::{TextField, text_of};
use persona_domain::user::User;

/// The search key of a text: what a case-ignoring match compares.
pub(crate) fn search_key(text: &str) -> String {
    text.to_lowercase()
}

/// The key columns of a user row (besides `user_name_key`, which is NULL once removed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SearchKeys {
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) nick_name: String,
    pub(crate) display_name: String,
    pub(crate) email: String,
    pub(crate) phone: String,
}

impl SearchKeys {
    /// The keys of `user`: its searchable texts ([`text_of`]), lower-cased.
    pub(crate) fn of_user(user: &User) -> Self {
        let key = |field| search_key(text_of(user, field));
        Self {
            first_name: key(TextField::FirstName),
            last_name: key(TextField::LastName),
            nick_name: key(TextField::NickName),
            display_name: key(TextField::DisplayName),
            email: key(TextField::Email),
            phone: key(TextField::Phone),
        }
    }

    /// The keys of a stored row as the columns it already has: what the migration that added
    /// the key columns fills in for rows written before. Equal to [`SearchKeys::of_user`] of the
    /// row's user (a test holds both to it).
    pub(crate) fn of_row(row: &StoredTexts<'_>) -> Self {
        if row.machine {
            return Self { display_name: search_key(row.machine_name), ..Self::default() };
        }
        Self {
            first_name: search_key(row.first_name),
            last_name: search_key(row.last_name),
            nick_name: search_key(row.nick_name),
            display_name: search_key(row.display_name),
            email: search_key(row.email),
            phone: row.phone.map(search_key).unwrap_or_default(),
        }
    }

    /// Writes the keys into `row`.
    pub(crate) fn write_to(self, row: &mut users::Model) {
        row.first_name_key = self.first_name;
        row.last_name_key = self.last_name;
        row.nick_name_key = self.nick_name;
        row.display_name_key = self.display_name;
        row.email_key = self.email;
        row.phone_key = self.phone;
    }
}

/// The searchable texts of a stored user row, as its columns hold them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredTexts<'a> {
    /// Whether `kind` is `machine`.
    pub(crate) machine: bool,
    pub(crate) first_name: &'a str,
    pub(crate) last_name: &'a str,
    pub(crate) nick_name: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) machine_name: &'a str,
    pub(crate) email: &'a str,
    pub(crate) phone: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::user_to_row;
    use persona_domain::Profile;
    use persona_domain::ids::{OrgId, UserId};
    use persona_domain::language::PreferredLanguage;
    use persona_domain::time::Timestamp;
    use persona_domain::user::{AccessTokenType, Email, Human, Machine, Phone, UserKind, UserState};

    fn user(kind: UserKind) -> User {
        User {
            id: UserId::new("u1".to_owned()),
            org_id: OrgId::new("o1".to_owned()),
            user_name: "Ölaf".to_owned(),
            state: UserState::Active,
            external_id: String::new(),
            kind,
            sequence: 1,
            created_at: Timestamp::from_unix_micros(1),
            changed_at: Timestamp::from_unix_micros(1),
        }
    }

    fn stored(row: &users::Model) -> StoredTexts<'_> {
        StoredTexts {
            machine: row.kind == "machine",
            first_name: &row.first_name,
            last_name: &row.last_name,
            nick_name: &row.nick_name,
            display_name: &row.display_name,
            machine_name: &row.machine_name,
            email: &row.email,
            phone: row.phone.as_deref(),
        }
    }

    #[test]
    fn the_migration_and_the_writer_compute_the_same_keys() {
        let profile = Profile::new(
            "ÅSA".to_owned(),
            "ΟΔΥΣΣΕΥΣ".to_owned(),
            "Nick".to_owned(),
            "Åsa Ö".to_owned(),
            PreferredLanguage::from_stored(String::new()),
            persona_domain::Gender::from_number(0),
        )
        .expect("profile");
        let with_phone = Human {
            profile,
            email: Email { address: "Ö@Example.COM".to_owned(), verified: true },
            phone: Some(Phone { number: "+41 X".to_owned(), verified: false }),
        };
        let without_phone = Human { phone: None, ..with_phone.clone() };
        let with_phone_again = with_phone.clone();
        let machine = Machine {
            name: "Çi Bot".to_owned(),
            description: "D".to_owned(),
            access_token_type: AccessTokenType::from_number(0),
        };
        for kind in [UserKind::Human(with_phone), UserKind::Human(without_phone), UserKind::Machine(machine)] {
            let user = user(kind);
            let row = user_to_row(&user, user.created_at, user.changed_at);
            let keys = SearchKeys::of_user(&user);
            assert_eq!(SearchKeys::of_row(&stored(&row)), keys);
            assert_eq!(row.display_name_key, keys.display_name, "the writer stores them");
        }
        let human = user(UserKind::Human(with_phone_again));
        let row = user_to_row(&human, human.created_at, human.changed_at);
        assert_eq!(row.email_key, "ö@example.com", "lower-cased beyond ASCII");
        assert_eq!(row.last_name_key, "οδυσσευς", "the final sigma as str::to_lowercase has it");
    }
}
