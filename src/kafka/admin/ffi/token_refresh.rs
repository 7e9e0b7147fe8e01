//! OAUTHBEARER tokens signed by warren (AWS MSK IAM) for the admin client: librdkafka calls
//! [`refresh_token`] on its background thread, which reaches the client's [`AdminContext`]
//! through the configuration opaque rdkafka sets (it lives until the client is destroyed).

use std::ffi::{c_char, c_void, CString};

use rdkafka::bindings as rdsys;
use rdkafka::client::ClientContext;
use rdkafka::config::NativeClientConfig;

use super::{cstr_lossy, take_owned_error, KafkaClient};
use crate::kafka::admin::AdminError;
use crate::kafka::msk_iam::{MskIam, MskToken};

/// The admin client's rdkafka context: the signer of its OAUTHBEARER tokens with `auth` (see
/// [`sign_tokens_in_background`]). rdkafka's own event handling never runs for this client (its
/// queues are polled here), so the context's trait methods are rdkafka's defaults.
pub(in super::super) struct AdminContext {
    pub(in super::super) msk_iam: Option<MskIam>,
}

impl ClientContext for AdminContext {}

/// Has librdkafka ask [`refresh_token`] for the OAUTHBEARER tokens of the client made from
/// `native`, whose context must be an [`AdminContext`], through its own SASL queue; after the
/// client is made, [`sign_tokens_in_background`] serves that queue. (librdkafka refuses this
/// callback together with `sasl.oauthbearer.method = oidc`, so it is set only with `auth`.)
pub(in super::super) fn enable_token_refresh(native: &NativeClientConfig) {
    // SAFETY: `native` is a valid configuration we own, not yet given to rd_kafka_new;
    // `refresh_token` has the callback's signature and is valid for the whole program.
    unsafe {
        rdsys::rd_kafka_conf_set_oauthbearer_token_refresh_cb(native.ptr(), Some(refresh_token));
        rdsys::rd_kafka_conf_enable_sasl_queue(native.ptr(), 1);
    }
}

/// Serves `client`'s SASL queue (token refreshes) on librdkafka's background thread: tokens are
/// made whether or not anything polls the client, and never on a tokio worker.
pub(in super::super) fn sign_tokens_in_background(client: &KafkaClient) -> Result<(), AdminError> {
    // SAFETY: live handle, made with the SASL queue enabled (`enable_token_refresh`).
    let err = unsafe { rdsys::rd_kafka_sasl_background_callbacks_enable(client.native_ptr()) };
    // SAFETY: the returned error (if any) is ours and not used afterwards.
    unsafe { take_owned_error("rd_kafka_sasl_background_callbacks_enable", err) }
}

/// librdkafka's token refresh callback (on its background thread): signs a token with the
/// client's MSK IAM signer and hands it to librdkafka, or tells librdkafka why there is none
/// (it logs that and asks again 10 s later).
///
/// # Safety
/// Called by librdkafka only: `rk` is a live client and `opaque` its configuration's opaque,
/// which rdkafka 0.39's `Client::new` sets to the `Arc` of the client's context (recheck on an
/// upgrade), an [`AdminContext`] per [`enable_token_refresh`].
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
        let reason = CString::new(reason.replace('\0', " ")).unwrap_or_default();
        // SAFETY: live handle, NUL-terminated string that librdkafka copies.
        unsafe { rdsys::rd_kafka_oauthbearer_set_token_failure(rk, reason.as_ptr()) };
    }
}

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
