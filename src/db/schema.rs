//! Table definitions shared by SQLite and PostgreSQL (portable column types only).

diesel::table! {
    staff (id) {
        id -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scopes -> Text,
        store_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    customers (id) {
        id -> Text,
        external_id -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        birthday -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        locale -> Nullable<Text>,
        preferred_channel -> Nullable<Text>,
        consent_email_marketing -> Bool,
        consent_sms_marketing -> Bool,
        consent_surveys -> Bool,
        attributes -> Text,
        referral_code_used -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_tags (customer_id, tag) {
        customer_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        actor_type -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> staff (created_by));
diesel::joinable!(customer_tags -> customers (customer_id));

diesel::allow_tables_to_appear_in_same_query!(staff, api_keys, customers, customer_tags, audit_log);
