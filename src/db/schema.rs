//! Table definitions shared by SQLite and PostgreSQL (portable column types only).

diesel::table! {
    cache_versions (name) {
        name -> Text,
        version -> BigInt,
    }
}

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
        referral_code -> Nullable<Text>,
        referred_by -> Nullable<Text>,
        merged_into -> Nullable<Text>,
        merged_at -> Nullable<Timestamp>,
        erased_at -> Nullable<Timestamp>,
        birthday_md -> Nullable<Integer>,
        birthday_set_at -> Nullable<Timestamp>,
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

diesel::table! {
    program (id) {
        id -> Integer,
        document -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    purchases (id) {
        id -> Text,
        external_id -> Text,
        customer_id -> Text,
        store_id -> Nullable<Text>,
        channel -> Text,
        occurred_at -> Timestamp,
        currency -> Text,
        total_minor -> BigInt,
        points_earned -> BigInt,
        breakdown -> Text,
        returned_minor -> BigInt,
        points_reversed -> BigInt,
        request_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    purchase_lines (purchase_id, line_no) {
        purchase_id -> Text,
        line_no -> Integer,
        sku -> Text,
        name -> Nullable<Text>,
        category -> Nullable<Text>,
        quantity -> BigInt,
        unit_price_minor -> BigInt,
        points -> BigInt,
        returned_quantity -> BigInt,
        points_reversed -> BigInt,
    }
}

diesel::table! {
    purchase_returns (id) {
        id -> Text,
        external_id -> Text,
        purchase_id -> Text,
        amount_minor -> BigInt,
        points_reversed -> BigInt,
        points_uncovered -> BigInt,
        request_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    balances (customer_id) {
        customer_id -> Text,
        available -> BigInt,
        pending -> BigInt,
        negative -> BigInt,
        lifetime_earned -> BigInt,
        redeemed -> BigInt,
        expired -> BigInt,
        updated_at -> Timestamp,
        last_seq -> BigInt,
    }
}

diesel::table! {
    point_lots (id) {
        id -> Text,
        customer_id -> Text,
        source_type -> Text,
        source_id -> Text,
        points -> BigInt,
        remaining -> BigInt,
        status -> Text,
        earned_at -> Timestamp,
        available_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        expired -> BigInt,
        expiry_warned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    lot_spends (source_type, source_id, lot_id) {
        source_type -> Text,
        source_id -> Text,
        lot_id -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        points -> BigInt,
        pending -> BigInt,
        negative -> BigInt,
        balance_after -> BigInt,
        pending_after -> BigInt,
        source_type -> Text,
        source_id -> Text,
        lot_id -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        seq -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (caller, idempotency_key) {
        caller -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        response_status -> Integer,
        response_body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        name -> Text,
        description -> Text,
        kind -> Text,
        percent_off -> Nullable<BigInt>,
        amount_off_minor -> Nullable<BigInt>,
        sku -> Nullable<Text>,
        cost_points -> BigInt,
        min_tier_id -> Nullable<Text>,
        stock -> Nullable<BigInt>,
        per_customer_limit -> Nullable<BigInt>,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
        code_validity_days -> BigInt,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reward_codes (code) {
        code -> Text,
        reward_id -> Text,
        customer_id -> Text,
        points_spent -> BigInt,
        status -> Text,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        used_store_id -> Nullable<Text>,
        used_purchase_external_id -> Nullable<Text>,
        cancelled_at -> Nullable<Timestamp>,
        redeemed_store_id -> Nullable<Text>,
    }
}

diesel::table! {
    tiers (id) {
        id -> Text,
        name -> Text,
        threshold -> BigInt,
        multiplier_percent -> BigInt,
        benefits -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_tiers (customer_id) {
        customer_id -> Text,
        tier_id -> Text,
        since -> Timestamp,
        below_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    qualifying_points (customer_id, month) {
        customer_id -> Text,
        month -> Text,
        points -> BigInt,
    }
}

diesel::table! {
    tier_changes (id) {
        id -> Text,
        customer_id -> Text,
        from_tier_id -> Nullable<Text>,
        to_tier_id -> Nullable<Text>,
        reason -> Text,
        qualifying_points -> BigInt,
        at -> Timestamp,
    }
}

diesel::table! {
    earning_rules (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        active -> Bool,
        starts_at -> Nullable<Timestamp>,
        ends_at -> Nullable<Timestamp>,
        tier_ids -> Text,
        store_ids -> Text,
        channels -> Text,
        params -> Text,
        event_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_events (id) {
        id -> Text,
        customer_id -> Text,
        name -> Text,
        occurred_at -> Timestamp,
        properties -> Text,
        rule_id -> Nullable<Text>,
        points -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    referral_payouts (referred_customer_id) {
        referred_customer_id -> Text,
        referrer_customer_id -> Text,
        purchase_id -> Text,
        referrer_points -> BigInt,
        referred_points -> BigInt,
        paid_at -> Timestamp,
    }
}

diesel::table! {
    customer_stats (customer_id) {
        customer_id -> Text,
        purchase_count -> BigInt,
        spent_minor -> BigInt,
        returned_minor -> BigInt,
        first_purchase_at -> Nullable<Timestamp>,
        last_purchase_at -> Nullable<Timestamp>,
        referrals_successful -> BigInt,
        segment -> Text,
        segment_since -> Timestamp,
        segment_review_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    customer_usage (customer_id, dimension, value) {
        customer_id -> Text,
        dimension -> Text,
        value -> Text,
        purchases -> BigInt,
        spent_minor -> BigInt,
        last_at -> Timestamp,
    }
}

diesel::table! {
    timeline_events (id) {
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        channel -> Text,
        summary -> Text,
        ref_type -> Text,
        ref_id -> Text,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    customer_search_terms (term, customer_id) {
        term -> Text,
        customer_id -> Text,
    }
}

diesel::table! {
    console_sessions (id) {
        id -> Text,
        staff_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        last_form_key -> Nullable<Text>,
    }
}

diesel::table! {
    console_preferences (staff_id) {
        staff_id -> Text,
        language -> Text,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(api_keys -> staff (created_by));
diesel::joinable!(console_sessions -> staff (staff_id));
diesel::joinable!(console_preferences -> staff (staff_id));
diesel::joinable!(customer_stats -> customers (customer_id));
diesel::joinable!(customer_search_terms -> customers (customer_id));
diesel::joinable!(customer_tags -> customers (customer_id));

diesel::table! {
    messages (id) {
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        category -> Text,
        dedupe_key -> Text,
        status -> Text,
        cause_type -> Text,
        cause_id -> Text,
        payload -> Text,
        locale -> Nullable<Text>,
        to_address -> Nullable<Text>,
        subject -> Nullable<Text>,
        message_id -> Nullable<Text>,
        due_at -> Timestamp,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        reason -> Nullable<Text>,
        claim_token -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    message_attempts (id) {
        id -> Text,
        message_id -> Text,
        attempt -> Integer,
        at -> Timestamp,
        outcome -> Text,
        smtp_code -> Nullable<Integer>,
        detail -> Text,
    }
}

diesel::table! {
    message_templates (kind, locale) {
        kind -> Text,
        locale -> Text,
        subject -> Text,
        html -> Text,
        text -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<Text>,
    }
}

diesel::table! {
    tickets (id) {
        id -> Text,
        external_id -> Text,
        customer_id -> Text,
        channel -> Text,
        subject -> Text,
        category -> Nullable<Text>,
        status -> Text,
        opened_at -> Timestamp,
        agent_id -> Nullable<Text>,
        agent_name -> Nullable<Text>,
        resolved_at -> Nullable<Timestamp>,
        resolved_agent_id -> Nullable<Text>,
        resolved_agent_name -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        resolutions -> Integer,
        follow_up_status -> Text,
        follow_up_due_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    offers (id) {
        id -> Text,
        customer_id -> Text,
        kind -> Text,
        occasion -> Text,
        code -> Nullable<Text>,
        bonus_points -> BigInt,
        valid_from -> Timestamp,
        valid_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (name) {
        name -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        duration_ms -> Nullable<BigInt>,
        items -> BigInt,
        skipped -> BigInt,
        error -> Nullable<Text>,
        runs -> BigInt,
    }
}

diesel::table! {
    surveys (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        scale -> Integer,
        question -> Text,
        open_question -> Text,
        trigger_type -> Text,
        delay_hours -> Integer,
        reminder_after_hours -> Integer,
        max_reminders -> Integer,
        expires_after_days -> Integer,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    survey_invitations (id) {
        id -> Text,
        survey_id -> Text,
        customer_id -> Text,
        kind -> Text,
        scale -> Integer,
        dedupe_key -> Text,
        cause_type -> Text,
        cause_id -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        channel -> Nullable<Text>,
        touchpoint -> Nullable<Text>,
        store_id -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        due_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        reminder_due_at -> Nullable<Timestamp>,
        reminders_sent -> Integer,
        expires_at -> Nullable<Timestamp>,
        answered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    feedback_responses (id) {
        id -> Text,
        customer_id -> Nullable<Text>,
        invitation_id -> Nullable<Text>,
        survey_id -> Nullable<Text>,
        kind -> Text,
        scale -> Integer,
        score -> Nullable<Integer>,
        comment -> Nullable<Text>,
        channel -> Text,
        touchpoint -> Nullable<Text>,
        store_id -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        source -> Text,
        occurred_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    recovery_cases (id) {
        id -> Text,
        customer_id -> Nullable<Text>,
        response_id -> Text,
        kind -> Text,
        scale -> Integer,
        score -> Integer,
        channel -> Text,
        touchpoint -> Nullable<Text>,
        store_id -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        status -> Text,
        apology_points -> BigInt,
        apologized -> Bool,
        opened_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<Text>,
        resolution_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(purchases -> customers (customer_id));
diesel::joinable!(purchase_lines -> purchases (purchase_id));
diesel::joinable!(purchase_returns -> purchases (purchase_id));
diesel::joinable!(reward_codes -> rewards (reward_id));
diesel::joinable!(reward_codes -> customers (customer_id));
diesel::joinable!(customer_tiers -> tiers (tier_id));
diesel::joinable!(balances -> customers (customer_id));
diesel::joinable!(point_lots -> customers (customer_id));
diesel::joinable!(ledger_entries -> point_lots (lot_id));
diesel::joinable!(lot_spends -> point_lots (lot_id));
diesel::joinable!(survey_invitations -> surveys (survey_id));
diesel::joinable!(feedback_responses -> survey_invitations (invitation_id));
diesel::joinable!(recovery_cases -> feedback_responses (response_id));

diesel::allow_tables_to_appear_in_same_query!(
    staff,
    console_sessions,
    console_preferences,
    api_keys,
    customers,
    customer_tags,
    audit_log,
    program,
    purchases,
    purchase_lines,
    purchase_returns,
    balances,
    point_lots,
    lot_spends,
    ledger_entries,
    idempotency_keys,
    rewards,
    reward_codes,
    tiers,
    customer_tiers,
    qualifying_points,
    tier_changes,
    earning_rules,
    customer_events,
    referral_payouts,
    customer_stats,
    customer_usage,
    timeline_events,
    customer_search_terms,
    messages,
    message_attempts,
    message_templates,
    tickets,
    offers,
    job_runs,
    surveys,
    survey_invitations,
    feedback_responses,
    recovery_cases,
);
