//! The storage conformance suite: one set of behaviour tests, written once, run against the
//! embedded adapter always and against MongoDB when `TECHVERSE_TEST_MONGODB_URI` is set (each
//! test in a fresh database). Without the URI every MongoDB test prints a `SKIP mongo` line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step fails the test"
)]

mod catalog;
mod commerce;
mod consumers;
mod harness;
mod identity;
mod payments;
mod sessions;
mod stores;
mod webhooks;

/// Generates one test per case and adapter: `embedded::<case>` and `mongo::<case>`.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    let harness = crate::harness::Harness::embedded().await;
                    crate::$module::$case(&harness).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test]
                async fn $case() {
                    let Some(harness) = crate::harness::Harness::mongo(stringify!($case)).await else {
                        return;
                    };
                    crate::$module::$case(&harness).await;
                    harness.cleanup().await;
                }
            )*
        }
    };
}

conformance!(
    stores::a_created_store_is_found_by_id_and_by_slug,
    stores::a_taken_slug_is_a_conflict_and_the_first_store_is_unchanged,
    stores::unknown_ids_and_slugs_find_nothing,
    stores::stores_list_in_slug_order_and_page_after_a_cursor,
    stores::a_status_change_is_stored_and_returned,
    stores::a_status_change_of_an_unknown_store_finds_nothing,
    stores::a_profile_update_saves_the_details_and_never_the_status,
    stores::committed_stores_survive_reopening_the_storage,
    stores::migrating_twice_keeps_data_and_rules,
    stores::the_database_answers_a_ping,
    identity::users_are_unique_by_email_and_found_by_id_and_email,
    identity::customers_are_unique_per_store_and_invisible_to_other_stores,
    identity::a_team_save_based_on_an_old_version_is_refused,
    identity::a_one_time_token_is_consumed_once_and_never_after_expiry,
    identity::invitations_list_per_store_are_found_without_spending_and_deleted,
    identity::the_outbox_leases_due_mail_and_keeps_it_until_sent,
    identity::undeliverable_mail_is_kept_counted_and_never_claimed_again,
    identity::audit_entries_list_newest_first_by_store_with_filters,
    catalog::product_slugs_and_skus_are_unique_per_store,
    catalog::a_product_save_based_on_an_old_version_is_refused,
    catalog::search_and_suggest_find_active_products_by_word_prefixes,
    catalog::search_finds_words_longer_than_twenty_characters_whole_or_by_prefix,
    catalog::products_are_read_by_ids_within_their_store_only,
    catalog::stock_moves_atomically_and_never_below_reserved,
    catalog::categories_wishlists_versions_and_events_are_per_store,
    commerce::concurrent_checkouts_for_the_last_units_sell_exactly_the_stock,
    commerce::a_short_line_places_nothing_and_holds_nothing,
    commerce::one_idempotency_key_places_one_order,
    commerce::order_numbers_count_per_store_and_events_follow_the_order,
    commerce::expiry_releases_the_stock_exactly_once,
    commerce::paying_then_refunding_moves_stock_on_hand,
    commerce::discount_limits_are_counted_with_the_order,
    commerce::carts_expire_and_save_by_version,
    commerce::settings_save_by_version,
    commerce::orders_list_by_filters_and_cursor,
    commerce::one_review_per_customer_and_product,
    commerce::a_checkout_failing_at_any_step_holds_nothing_or_finishes_whole,
    commerce::a_checkout_dying_between_steps_is_given_back_once_by_the_repair_pass,
    commerce::an_order_change_failing_part_way_ends_whole_and_applies_each_move_once,
    commerce::an_expired_or_cancelled_order_gives_its_discount_use_back,
    commerce::open_unpaid_orders_are_limited_per_buyer_and_per_address,
    commerce::a_sale_moves_the_stock_version_and_the_content_version_only_when_stock_runs_out,
    commerce::a_product_save_racing_a_sale_never_loses_the_sale,
    commerce::analytics_sum_orders_by_local_day_and_status_as_a_recount_does,
    identity::customers_list_by_email_prefix_and_cursor_within_their_store,
    payments::a_store_has_one_connected_account_and_an_account_one_store,
    payments::an_event_is_recorded_once_and_processed_once,
    payments::an_order_has_one_payment_attempt_saved_by_version,
    payments::unsettled_attempts_are_listed_oldest_first_once_old_and_unleased,
    consumers::a_consumer_lags_in_stores_with_new_events_until_it_advances,
    consumers::a_leased_store_is_handed_on_by_its_holder_alone_until_the_lease_ends,
    identity::mail_queued_twice_under_one_id_is_sent_once_even_after_it_was_sent,
    identity::expired_one_time_tokens_are_deleted,
    webhooks::webhooks_are_per_store_and_saved_by_version,
    webhooks::one_delivery_per_endpoint_and_event_leased_to_one_worker,
);

/// Session cases run on each storage adapter and on the Redis session store:
/// `sessions::embedded::<case>`, `sessions::mongo::<case>`, `sessions::redis::<case>`.
macro_rules! session_conformance {
    ($($case:ident),* $(,)?) => {
        mod session_stores {
            mod embedded {
                $(
                    #[tokio::test]
                    async fn $case() {
                        let harness = crate::harness::Harness::embedded().await;
                        crate::sessions::$case(harness.storage().sessions()).await;
                    }
                )*
            }
            mod mongo {
                $(
                    #[tokio::test]
                    async fn $case() {
                        let Some(harness) = crate::harness::Harness::mongo(stringify!($case)).await else {
                            return;
                        };
                        crate::sessions::$case(harness.storage().sessions()).await;
                        harness.cleanup().await;
                    }
                )*
            }
            mod redis {
                $(
                    #[tokio::test]
                    async fn $case() {
                        let redis = crate::harness::Redis::connect().await;
                        crate::sessions::$case(redis.sessions()).await;
                        redis.cleanup().await;
                    }
                )*
            }
        }
    };
}

session_conformance!(
    a_session_rotates_once_and_a_reused_hash_revokes_it,
    a_just_replaced_hash_repeats_its_rotation_within_the_grace_only,
    revoking_an_account_ends_only_its_sessions,
);

#[tokio::test]
async fn redis_the_account_index_outlives_every_refreshed_session() {
    let redis = crate::harness::Redis::connect().await;
    crate::sessions::the_account_index_outlives_every_refreshed_session(&redis).await;
    redis.cleanup().await;
}
