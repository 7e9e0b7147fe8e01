//! OAUTHBEARER tokens signed by warren (AWS MSK IAM) for the admin client: librdkafka calls
//! [`refresh_token`] on its background thread, which reaches the client's [`AdminContext`]
//! through the configuration opaque rdkafka sets (it lives until the client is destroyed).

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::Arc;

use rdkafka::bindings as rdsys;
use rdkafka::client::{Client, ClientContext};
use rdkafka::config::{ClientConfig, NativeClientConfig};
use rdkafka::types::RDKafkaType;

use super::{cstr_lossy, drop_off_worker, take_owned_error, KafkaClient};
use crate::kafka::admin::AdminError;
use crate::kafka::msk_iam::{MskIam, MskToken};

/// The admin client's rdkafka context: the signer of its OAUTHBEARER tokens with `auth` (see
/// [`KafkaClient::signing_tokens`]). rdkafka's own event handling never runs for this client (its
/// queues are polled here), so the context's trait methods are rdkafka's defaults.
pub(in super::super) struct AdminContext {
    pub(in super::super) msk_iam: Option<MskIam>,
}

impl ClientContext for AdminContext {}

impl KafkaClient {
    /// The admin client made from `cfg` and `native` with `context`, whose OAUTHBEARER tokens
    /// librdkafka asks [`refresh_token`] for on its background thread: tokens are made
    /// whether or not anything polls the client, and never on a tokio worker. (librdkafka
    /// refuses this callback together with `sasl.oauthbearer.method = oidc`, so it is used
    /// only with `auth`.)
    pub(in super::super) fn signing_tokens(
        cfg: &ClientConfig,
        native: NativeClientConfig,
        context: AdminContext,
    ) -> Result<KafkaClient, AdminError> {
        // SAFETY: `native` is a valid configuration we own, not yet given to rd_kafka_new;
        // `refresh_token` has the callback's signature and is valid for the whole program.
        unsafe {
            rdsys::rd_kafka_conf_set_oauthbearer_token_refresh_cb(
                native.ptr(),
                Some(refresh_token),
            );
            rdsys::rd_kafka_conf_enable_sasl_queue(native.ptr(), 1);
        }
        let client = KafkaClient::new(Client::new(
            cfg,
            native,
            RDKafkaType::RD_KAFKA_CONSUMER,
            context,
        )?);
        // `refresh_token` reads the opaque as this client's `AdminContext`: rdkafka 0.39's
        // `Client::new` sets it to the context's `Arc`. Checked before any callback can run
        // (the SASL queue is served only once background callbacks are enabled, below), so
        // an rdkafka that sets something else fails here instead of in the callback.
        // SAFETY: live handle.
        let opaque = unsafe { rdsys::rd_kafka_opaque(client.native_ptr()) };
        if opaque.cast_const().cast::<AdminContext>() != Arc::as_ptr(client.context()) {
            drop_off_worker(client);
            return Err(AdminError::new(
                None,
                "rdkafka no longer sets the client's opaque to its context: cannot sign \
                 OAUTHBEARER tokens"
                    .to_string(),
            ));
        }
        // SAFETY: live handle, made with the SASL queue enabled (above).
        let err = unsafe { rdsys::rd_kafka_sasl_background_callbacks_enable(client.native_ptr()) };
        // SAFETY: the returned error (if any) is ours and not used afterwards.
        match unsafe { take_owned_error("rd_kafka_sasl_background_callbacks_enable", err) } {
            Ok(()) => Ok(client),
            Err(e) => {
                drop_off_worker(client);
                Err(e)
            }
        }
    }
}

/// librdkafka's token refresh callback (on its background thread): signs a token with the
/// client's MSK IAM signer and hands it to librdkafka, or tells librdkafka why there is none
/// (it logs that and asks again 10 s later).
///
/// # Safety
/// Called by librdkafka only: `rk` is a live client and `opaque` its configuration's opaque,
/// which is the client's [`AdminContext`]: only [`KafkaClient::signing_tokens`] installs this
/// callback, and it checks that before librdkafka can call it.
unsafe extern "C" fn refresh_token(
    rk: *mut rdsys::rd_kafka_t,
    _oauthbearer_config: *const c_char,
    opaque: *mut c_void,
) {
    if opaque.is_null() {
        return;
    }
    // SAFETY: per the function's contract; the context outlives the client (`KafkaClient`'s
    // drop destroys the client, joining this thread, before it releases the context).
    let context = unsafe { &*(opaque as *const AdminContext) };
    // A panic must not unwind into C.
    let token = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &context.msk_iam {
        Some(signer) => signer.token(),
        None => Err("no token signer for this client".to_string()),
    }))
    .unwrap_or_else(|_| Err("the token signer panicked".to_string()));
    let failure = match token {
        // SAFETY: `rk` is live per the contract.
        Ok(token) => unsafe { set_token(rk, token) }.err(),
        Err(e) => Some(e),
    };
    if let Some(reason) = failure {
        // librdkafka refuses an empty reason (INVALID_ARG) and then never asks again.
        let reason = CString::new(reason.replace('\0', " "))
            .ok()
            .filter(|r| !r.is_empty());
        let reason = reason.as_deref().unwrap_or(NO_TOKEN);
        // SAFETY: live handle, NUL-terminated string that librdkafka copies.
        let err = unsafe { rdsys::rd_kafka_oauthbearer_set_token_failure(rk, reason.as_ptr()) };
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            tracing::error!(
                "AWS MSK IAM: librdkafka refused the token failure ({err:?}), so it may not ask \
                 for a token again"
            );
        }
    }
}

/// The reason given to librdkafka when the real one cannot be (empty).
const NO_TOKEN: &CStr = c"no token (reason unavailable)";

/// Hands `token` to librdkafka; Err: librdkafka's reason for refusing it.
///
/// # Safety
/// `rk` must be a live client.
unsafe fn set_token(rk: *mut rdsys::rd_kafka_t, token: MskToken) -> Result<(), String> {
    let value = CString::new(token.value).map_err(|_| "the token contains NUL".to_string())?;
    let principal =
        CString::new(token.principal).map_err(|_| "the principal contains NUL".to_string())?;
    let mut errstr = [0 as c_char; 512];
    // SAFETY: live handle; NUL-terminated strings, no extensions, a writable error buffer of
    // the stated size; librdkafka copies what it keeps.
    let err = unsafe {
        rdsys::rd_kafka_oauthbearer_set_token(
            rk,
            value.as_ptr(),
            token.expires_at_ms,
            principal.as_ptr(),
            std::ptr::null_mut(),
            0,
            errstr.as_mut_ptr(),
            errstr.len(),
        )
    };
    if err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
        return Ok(());
    }
    // SAFETY: librdkafka NUL-terminates errstr on error.
    Err(unsafe { cstr_lossy(errstr.as_ptr()) })
}
