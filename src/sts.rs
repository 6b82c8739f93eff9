//! AssumeRole against AWS STS with the AWS SDK for Rust.
//!
//! Source credentials come from the AWS default chain (environment, profile, web identity,
//! container, instance profile over IMDSv2), loaded once per process. One STS client is built per
//! distinct [`StsTarget`] (region, endpoint, timeout) and reused. The `rolebridge.sts.endpoint` setting wins over
//! `AWS_ENDPOINT_URL(_STS)` in the environment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_sdk_sts::config::Region;
use aws_sdk_sts::config::SharedHttpClient;
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::types::PolicyDescriptorType;
use aws_sdk_sts::Client;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::OnceCell;

use crate::cache::{BoxFuture, FetchSession, Session, SessionSpec};
use crate::error::{Error, Result};
use crate::settings::StsTarget;
use crate::shared_cache::SharedDir;

/// Attempts per AssumeRole call: the SDK's standard retry strategy (exponential backoff with
/// jitter; throttling, 5xx, timeouts and I/O errors are retried), bounded as a whole by
/// `rolebridge.sts.timeout`.
const MAX_ATTEMPTS: u32 = 3;
const MAX_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Source credentials with less than this left are fetched again.
const SOURCE_REFRESH_AHEAD: Duration = Duration::from_secs(300);

/// The source credentials (the AWS default chain), cached here, in front of the STS clients'
/// own identity cache, so that the node cache can ask who the source is (its access key ID)
/// without a call of its own.
#[derive(Debug)]
struct Source {
    chain: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl Source {
    async fn credentials(&self) -> aws_credential_types::provider::Result {
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(c) = cached {
            if c.expiry()
                .is_none_or(|e| e > SystemTime::now() + SOURCE_REFRESH_AHEAD)
            {
                return Ok(c);
            }
        }
        let c = self.chain.provide_credentials().await?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.clone());
        Ok(c)
    }
}

#[derive(Debug, Clone)]
struct CachedSource(Arc<Source>);

impl ProvideCredentials for CachedSource {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.0.credentials())
    }
}

/// The HTTPS client of every call, made lazily: building a connector loads the system's root
/// certificates (some milliseconds), and the SDK asks for one when a client is built, before it
/// knows whether it will send anything. A process served from the node cache (the command's
/// `credential-process`, a JVM whose session another wrote) then never pays for it.
#[derive(Debug)]
struct LazyHttps(SharedHttpClient);

impl HttpClient for LazyHttps {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LazyConnector {
            client: self.0.clone(),
            settings: settings.clone(),
            components: components.clone(),
            connector: std::sync::OnceLock::new(),
        })
    }
}

/// A connector made at the first request it carries.
#[derive(Debug)]
struct LazyConnector {
    client: SharedHttpClient,
    settings: HttpConnectorSettings,
    components: RuntimeComponents,
    connector: std::sync::OnceLock<SharedHttpConnector>,
}

impl HttpConnector for LazyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.connector
            .get_or_init(|| self.client.http_connector(&self.settings, &self.components))
            .call(request)
    }
}

/// An HTTPS client as rolebridge makes them (rustls with ring; its connector made at the first
/// request), for STS and for the command's S3 calls alike.
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(LazyHttps(
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https(),
    ))
}

/// Fetches sessions from STS. Cheap to clone (shared state behind `Arc`s).
#[derive(Clone, Default)]
pub struct StsFetcher {
    base: Arc<OnceCell<SdkConfig>>,
    source: Arc<std::sync::OnceLock<CachedSource>>,
    /// The process's region, once found; a lookup that found none is tried again next time.
    default_region: Arc<Mutex<Option<Region>>>,
    https: Arc<std::sync::OnceLock<SharedHttpClient>>,
    clients: Arc<Mutex<HashMap<StsTarget, Client>>>,
}

impl StsFetcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// The HTTPS client of every call of this fetcher.
    fn https(&self) -> SharedHttpClient {
        self.https.get_or_init(https_client).clone()
    }

    /// The process's AWS configuration, from which the default credential chain (the source
    /// credentials) and every STS client are made. Its region is the one the source chain's own STS
    /// calls use (web identity for EMR on EKS / IRSA, SSO, profile role chains): the process's
    /// region as the AWS SDKs find it, so that they go to that region's STS endpoint in that
    /// region's partition (aws-cn, aws-us-gov) and through its VPC endpoint; only where the process
    /// has no region at all, the region rolebridge's own AssumeRole goes to (`target`).
    async fn base(&self, target: &Region) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                let region = match self.process_region().await {
                    Some(r) => r,
                    None => target.clone(),
                };
                tracing::debug!("source credentials: the default chain, its STS calls in {region}");
                let config = aws_config::defaults(BehaviorVersion::latest())
                    .region(region)
                    .http_client(self.https())
                    .load()
                    .await;
                match config.credentials_provider() {
                    Some(chain) => {
                        let source = self
                            .source
                            .get_or_init(|| {
                                CachedSource(Arc::new(Source {
                                    chain,
                                    cached: Mutex::new(None),
                                }))
                            })
                            .clone();
                        config
                            .into_builder()
                            .credentials_provider(SharedCredentialsProvider::new(source))
                            .build()
                    }
                    None => config,
                }
            })
            .await
    }

    /// Who the source is, for the node cache: the access key ID of the source credentials (not a
    /// secret). From the cached source credentials, so it costs no STS call of its own; `None`
    /// if they cannot be had (the AssumeRole then fails with the chain's own error).
    async fn source_key(&self, target: &StsTarget) -> Option<String> {
        self.client(target).await.ok()?;
        let source = self.source.get()?.clone();
        match source.0.credentials().await {
            Ok(c) => Some(c.access_key_id().to_owned()),
            Err(e) => {
                tracing::debug!("no source credentials for the node cache: {e}");
                None
            }
        }
    }

    /// The process's region as the AWS SDKs find it: `AWS_REGION`, the profile, then instance
    /// metadata (IMDSv2, with the same HTTPS client; `AWS_EC2_METADATA_SERVICE_ENDPOINT` and
    /// `AWS_EC2_METADATA_DISABLED` apply). Only a region found is kept: after a failed lookup (an
    /// IMDS blip) the next fetch asks again.
    async fn process_region(&self) -> Option<Region> {
        if let Some(r) = self
            .default_region
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            return Some(r);
        }
        let imds = ProviderConfig::default().with_http_client(self.https());
        let found = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
            .or_else(ProfileFileRegionProvider::builder().build())
            .or_else(ImdsRegionProvider::builder().configure(&imds).build())
            .region()
            .await;
        if let Some(r) = &found {
            *self
                .default_region
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(r.clone());
        }
        found
    }

    async fn client(&self, target: &StsTarget) -> Result<Client> {
        if let Some(c) = self
            .clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
        {
            return Ok(c.clone());
        }
        let region = match &target.region {
            Some(r) => Region::new(r.clone()),
            None => self.process_region().await.ok_or_else(|| {
                Error::setting(
                    "rolebridge.sts.region",
                    "is not set, and the AWS SDK found no region (AWS_REGION, the AWS profile, \
                     or EC2 instance metadata)",
                    "Set rolebridge.sts.region to the region whose STS endpoint to use",
                )
            })?,
        };
        let mut builder = aws_sdk_sts::config::Builder::from(self.base(&region).await)
            .region(region)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(target.timeout.min(MAX_CONNECT_TIMEOUT))
                    .operation_attempt_timeout(
                        (target.timeout / MAX_ATTEMPTS)
                            .clamp(Duration::from_millis(300), MAX_ATTEMPT_TIMEOUT),
                    )
                    .operation_timeout(target.timeout)
                    .build(),
            );
        if let Some(endpoint) = &target.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let client = Client::from_conf(builder.build());
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.clone(), client.clone());
        Ok(client)
    }

    /// Who the source credentials are (`sts:GetCallerIdentity` with the default chain, on the
    /// STS endpoint `target` names): the principal's ARN and its account.
    pub async fn caller_identity(&self, target: &StsTarget) -> Result<(String, String)> {
        let client = self.client(target).await?;
        let out = client.get_caller_identity().send().await.map_err(|e| {
            let code = e.code().unwrap_or("NoSourceCredentials").to_owned();
            let message = e.message().map(str::to_owned).unwrap_or_else(|| causes(&e));
            Error::Sts {
                role_arn: "(GetCallerIdentity)".into(),
                code,
                message,
                hint: String::new(),
                retryable: false,
            }
        })?;
        Ok((
            out.arn().unwrap_or_default().to_owned(),
            out.account().unwrap_or_default().to_owned(),
        ))
    }

    pub async fn assume_role(&self, spec: &SessionSpec) -> Result<Session> {
        let client = self.client(&spec.sts).await?;
        let policy_arns = (!spec.policy_arns.is_empty()).then(|| {
            spec.policy_arns
                .iter()
                .map(|a| PolicyDescriptorType::builder().arn(a).build())
                .collect::<Vec<_>>()
        });
        let duration = i32::try_from(spec.duration_secs).map_err(|_| {
            Error::Internal(format!("duration {} out of range", spec.duration_secs))
        })?;
        let out = client
            .assume_role()
            .role_arn(&spec.role_arn)
            .role_session_name(&spec.session_name)
            .duration_seconds(duration)
            .set_external_id(spec.external_id.clone())
            .set_policy(spec.policy.clone())
            .set_policy_arns(policy_arns)
            .send()
            .await
            .map_err(|e| map_error(spec, e))?;
        let c = out.credentials().ok_or_else(|| Error::Sts {
            role_arn: spec.role_arn.clone(),
            code: "MissingCredentials".into(),
            message: "the AssumeRole response held no credentials".into(),
            hint: String::new(),
            retryable: true,
        })?;
        let expiration = SystemTime::try_from(*c.expiration()).map_err(|e| {
            Error::Internal(format!("STS returned an expiration out of range: {e}"))
        })?;
        Ok(Session {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().to_owned(),
            expiration,
        })
    }
}

impl StsFetcher {
    /// A session valid until at least `min_expiration`: from the node-wide shared cache if the
    /// spec has one and it holds such a session, else from STS (under the shared cache's
    /// cross-process lock, so that one process of the node calls STS while the others wait and
    /// then read what it wrote).
    async fn fetch_shared_or_new(
        &self,
        spec: &SessionSpec,
        min_expiration: SystemTime,
    ) -> Result<Session> {
        let Some(setting) = spec.shared_dir.clone() else {
            return self.assume_role(spec).await;
        };
        let shared = match off_runtime(move || SharedDir::open(&setting)).await {
            Some(Ok(d)) => d,
            Some(Err(why)) => {
                tracing::warn!(
                    "rolebridge.cache.dir: not sharing sessions across processes: {why}"
                );
                return self.assume_role(spec).await;
            }
            None => return self.assume_role(spec).await,
        };
        let Some(source) = self.source_key(&spec.sts).await else {
            return self.assume_role(spec).await;
        };
        let read = |shared: &SharedDir| {
            let (shared, spec, source) = (shared.clone(), spec.clone(), source.clone());
            off_runtime(move || shared.read(&spec, &source, min_expiration))
        };
        if let Some(s) = read(&shared).await.flatten() {
            return Ok(s);
        }
        let lock = shared.lock(spec, spec.sts.timeout).await;
        if let Some(s) = read(&shared).await.flatten() {
            return Ok(s); // another process fetched it while this one waited for the lock
        }
        let session = self.assume_role(spec).await?;
        let written = {
            let (shared, spec, session) = (shared.clone(), spec.clone(), session.clone());
            off_runtime(move || shared.write(&spec, &source, &session)).await
        };
        if let Some(Err(why)) = written {
            tracing::warn!("rolebridge.cache.dir: {why}");
        }
        drop(lock);
        Ok(session)
    }
}

/// Runs file work of the node cache (whose directory may be slow: NFS, a busy disk) on the
/// runtime's blocking threads, never on the thread that drives every STS call. `None` if the
/// work could not run or panicked.
async fn off_runtime<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    tokio::task::spawn_blocking(work).await.ok()
}

impl FetchSession for StsFetcher {
    fn fetch(&self, spec: &SessionSpec, min_expiration: SystemTime) -> BoxFuture<Result<Session>> {
        let this = self.clone();
        let spec = spec.clone();
        Box::pin(async move { this.fetch_shared_or_new(&spec, min_expiration).await })
    }
}

/// What usually causes an STS error code, and how to fix it.
fn hint(code: &str) -> &'static str {
    match code {
        "AccessDenied" => {
            ". Usually: the role's trust policy does not name this source principal (the identity \
             of the AWS default credential chain on this host), or the external ID \
             (rolebridge.external.id) does not match the trust policy's sts:ExternalId condition, \
             or the source principal's own IAM policy does not allow sts:AssumeRole on the role, \
             or the role does not exist"
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => {
            ". The source credentials of the AWS default chain on this host are not valid for this \
             STS endpoint (wrong keys, or keys of another partition)"
        }
        "ExpiredToken" | "ExpiredTokenException" => ". The source credentials have expired; renew them",
        "RegionDisabledException" => {
            ". STS is not activated in this region for the source account: activate it in IAM \
             account settings, or set rolebridge.sts.region to an active region"
        }
        "MalformedPolicyDocument" | "MalformedPolicyDocumentException" => {
            ". Check rolebridge.session.policy and rolebridge.session.policy.arns"
        }
        "PackedPolicyTooLarge" | "PackedPolicyTooLargeException" => {
            ". The session policy and tags are too large once packed; shorten rolebridge.session.policy"
        }
        "ValidationError" => {
            ". If the message is about DurationSeconds: rolebridge.session.duration exceeds the \
             role's MaxSessionDuration (or 1h when the source is itself an assumed role)"
        }
        _ => "",
    }
}

fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "IDPCommunicationError"
            | "ServiceUnavailable"
            | "InternalFailure"
            | "InternalError"
    )
}

fn map_error(spec: &SessionSpec, err: SdkError<AssumeRoleError>) -> Error {
    let role_arn = spec.role_arn.clone();
    let endpoint = spec.sts.describe();
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("Unknown").to_owned();
            let message = se.err().message().unwrap_or("(no message)").to_owned();
            let retryable = status >= 500 || is_retryable_code(&code);
            Error::Sts {
                role_arn,
                hint: hint(&code).to_owned(),
                code,
                message: format!("{message} (HTTP {status})"),
                retryable,
            }
        }
        SdkError::TimeoutError(_) => Error::Transport {
            role_arn,
            endpoint,
            detail: format!(
                "no answer within {:?}, retries included (rolebridge.sts.timeout)",
                spec.sts.timeout
            ),
        },
        _ => {
            let mut detail = causes(&err);
            if detail.contains("no credentials found in chain")
                || detail.contains("credential provider was not enabled")
            {
                detail.push_str(
                    "\nThe AWS default chain found no source credentials on this host: give the host an \
                     instance profile (on EMR, the cluster's EC2 instance profile), or set \
                     AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a web identity token",
                );
            }
            Error::Transport {
                role_arn,
                endpoint,
                detail,
            }
        }
    }
}

/// An error and its sources, as "a: b: c" (Display only; the SDK's Debug forms are noise here).
pub fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
