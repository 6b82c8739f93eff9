//! AssumeRole against AWS STS with the AWS SDK for Rust.
//!
//! Source credentials come from the AWS default chain (environment, profile, web identity,
//! container, instance profile over IMDSv2), loaded once per process. One STS client is built per
//! distinct [`StsTarget`] (region, endpoint, timeout) and reused. The `rolebridge.sts.endpoint` setting wins over
//! `AWS_ENDPOINT_URL(_STS)` in the environment.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::imds::region::ImdsRegionProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_sdk_sts::config::Region;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents, SharedHttpClient};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::RequestId;
use aws_sdk_sts::types::{PolicyDescriptorType, Tag};
use aws_sdk_sts::Client;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use tokio::sync::OnceCell;

use crate::cache::{FetchSession, Session, SessionSpec};
use crate::error::{Error, Result};
use crate::metrics::{AssumeRoleEvent, SessionStats};
use crate::proxy::{Proxies, ProxyUrl, Route};
use crate::runtime::BoxFuture;
use crate::settings::StsTarget;
use crate::shared_cache::{Backoff, BackoffKind, Lookup, SharedDir, SourceId};

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

/// An HTTPS client whose requests go the way `proxies` routes each (direct, or through the
/// proxy for its scheme); with no proxy set, [`https_client`]. Instance metadata and container
/// credentials never use this client (they get [`https_client`]); [`Proxies::route`] also sends
/// their fixed addresses direct.
pub fn routed_client(proxies: &Proxies) -> SharedHttpClient {
    if !proxies.any() {
        return https_client();
    }
    let mut via: Vec<(ProxyUrl, Option<SharedHttpClient>)> = Vec::new();
    for p in [&proxies.http, &proxies.https].into_iter().flatten() {
        if !via.iter().any(|(u, _)| *u == p.url) {
            via.push((p.url.clone(), proxied_client(&p.url)));
        }
    }
    SharedHttpClient::new(Routed {
        proxies: proxies.clone(),
        direct: https_client(),
        via,
    })
}

/// An HTTPS client that sends every request through `url` (forwarding `http://` requests,
/// tunnelling `https://` ones with CONNECT); `None` if the crate refuses the URL (it was checked
/// when the settings were read, so this is not expected).
fn proxied_client(url: &ProxyUrl) -> Option<SharedHttpClient> {
    let config = match aws_smithy_http_client::proxy::ProxyConfig::all(url.with_secret()) {
        Ok(c) => c,
        Err(_) => {
            tracing::warn!("the HTTP client refused the proxy {url}");
            return None;
        }
    };
    Some(SharedHttpClient::new(LazyHttps(
        aws_smithy_http_client::Builder::new().build_with_connector_fn(
            move |settings, components| {
                let mut b = aws_smithy_http_client::Connector::builder();
                b.set_connector_settings(settings.cloned());
                if let Some(c) = components {
                    b.set_sleep_impl(c.sleep_impl());
                }
                b.proxy_config(config.clone())
                    .tls_provider(tls::Provider::Rustls(
                        tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build()
            },
        ),
    )))
}

/// The client of [`routed_client`]: one direct client and one per proxy.
#[derive(Debug)]
struct Routed {
    proxies: Proxies,
    direct: SharedHttpClient,
    via: Vec<(ProxyUrl, Option<SharedHttpClient>)>,
}

impl HttpClient for Routed {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let lazy = |client: &SharedHttpClient| LazyConnector {
            client: client.clone(),
            settings: settings.clone(),
            components: components.clone(),
            connector: std::sync::OnceLock::new(),
        };
        SharedHttpConnector::new(RoutedConnector {
            proxies: self.proxies.clone(),
            direct: lazy(&self.direct),
            via: self
                .via
                .iter()
                .map(|(u, c)| (u.clone(), c.as_ref().map(lazy)))
                .collect(),
        })
    }
}

#[derive(Debug)]
struct RoutedConnector {
    proxies: Proxies,
    direct: LazyConnector,
    via: Vec<(ProxyUrl, Option<LazyConnector>)>,
}

impl HttpConnector for RoutedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self.proxies.route(request.uri()) {
            Route::Direct(why) => {
                tracing::trace!("{} direct ({why})", request.uri());
                self.direct.call(request)
            }
            Route::Via(proxy, why) => {
                tracing::trace!("{} via proxy {} ({why})", request.uri(), proxy.url);
                match self.via.iter().find(|(u, _)| *u == proxy.url) {
                    Some((_, Some(c))) => c.call(request),
                    _ => HttpConnectorFuture::ready(Err(ConnectorError::user(
                        format!("no HTTP client for the proxy {}", proxy.url).into(),
                    ))),
                }
            }
        }
    }
}

/// Fetches sessions from STS. Cheap to clone (shared state behind `Arc`s).
#[derive(Clone, Default)]
pub struct StsFetcher {
    base: Arc<OnceCell<SdkConfig>>,
    source: Arc<std::sync::OnceLock<CachedSource>>,
    /// The process's region, once found; a lookup that found none is tried again next time.
    default_region: Arc<Mutex<Option<Region>>>,
    https: Arc<std::sync::OnceLock<SharedHttpClient>>,
    /// The client of each set of proxies (one connection pool each).
    routed: Arc<Mutex<HashMap<Proxies, SharedHttpClient>>>,
    clients: Arc<Mutex<HashMap<StsTarget, Client>>>,
    /// The source principal's ARN, with the access key ID it was asked for ([`Self::principal_of`]).
    principal: Arc<Mutex<Option<(String, String)>>>,
}

impl StsFetcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// The direct HTTPS client: instance metadata, container credentials, and every call where
    /// no proxy is set.
    fn https(&self) -> SharedHttpClient {
        self.https.get_or_init(https_client).clone()
    }

    /// The HTTPS client of calls routed by `proxies` (STS, the source chain's own STS calls).
    fn routed(&self, proxies: &Proxies) -> SharedHttpClient {
        if !proxies.any() {
            return self.https();
        }
        self.routed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(proxies.clone())
            .or_insert_with(|| routed_client(proxies))
            .clone()
    }

    /// The process's AWS configuration, from which the default credential chain (the source
    /// credentials) and every STS client are made. Its region is the one the source chain's own STS
    /// calls use (web identity for EMR on EKS / IRSA, SSO, profile role chains): the process's
    /// region as the AWS SDKs find it, so that they go to that region's STS endpoint in that
    /// region's partition (aws-cn, aws-us-gov) and through its VPC endpoint; only where the process
    /// has no region at all, the region rolebridge's own AssumeRole goes to (`target`).
    ///
    /// The chain's own STS calls go the way `proxies` routes them (those of the first STS target
    /// of the process: the chain is made once); its instance metadata and container credential
    /// calls always go direct.
    async fn base(&self, target: &Region, proxies: &Proxies) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                let region = match self.process_region().await {
                    Some(r) => r,
                    None => target.clone(),
                };
                tracing::debug!("source credentials: the default chain, its STS calls in {region}");
                let loader = aws_config::defaults(BehaviorVersion::latest()).region(region.clone());
                let config = if proxies.any() {
                    loader
                        .http_client(self.routed(proxies))
                        .credentials_provider(self.chain_with_proxies(region, proxies))
                        .load()
                        .await
                } else {
                    loader.http_client(self.https()).load().await
                };
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

    /// The AWS default credential chain, in its order (environment, profile, web identity, ECS
    /// container, instance metadata), with the profile's and web identity's STS calls routed by
    /// `proxies` and the container and instance metadata calls direct.
    fn chain_with_proxies(&self, region: Region, proxies: &Proxies) -> SharedCredentialsProvider {
        let via = ProviderConfig::default()
            .with_http_client(self.routed(proxies))
            .with_region(Some(region.clone()));
        let direct = ProviderConfig::default()
            .with_http_client(self.https())
            .with_region(Some(region));
        SharedCredentialsProvider::new(
            CredentialsProviderChain::first_try(
                "Environment",
                EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else(
                "Profile",
                ProfileFileCredentialsProvider::builder()
                    .configure(&via)
                    .build(),
            )
            .or_else(
                "WebIdentityToken",
                WebIdentityTokenCredentialsProvider::builder()
                    .configure(&via)
                    .build(),
            )
            .or_else(
                "EcsContainer",
                EcsCredentialsProvider::builder().configure(&direct).build(),
            )
            .or_else(
                "Ec2InstanceMetadata",
                ImdsCredentialsProvider::builder()
                    .configure(&direct)
                    .build(),
            ),
        )
    }

    /// The source credentials, for the node cache to tell who the source is: the cached ones, so
    /// this costs no call of its own (they are needed to sign the AssumeRole anyway); `None` if
    /// they cannot be had (the AssumeRole then fails with the chain's own error).
    async fn source_credentials(&self, target: &StsTarget) -> Option<Credentials> {
        self.client(target).await.ok()?;
        let source = self.source.get()?.clone();
        match source.0.credentials().await {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::debug!("no source credentials for the node cache: {e}");
                None
            }
        }
    }

    /// The ARN of the principal whose credentials `creds` are, as STS reports it
    /// (`sts:GetCallerIdentity`, which needs no permission, signed with exactly these credentials,
    /// on the STS endpoint `target` names). Asked once per access key ID per process; `None` if
    /// STS did not answer (the node cache then goes by the access key ID alone).
    async fn principal_of(&self, target: &StsTarget, creds: &Credentials) -> Option<String> {
        let known = self
            .principal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((key, arn)) = known {
            if key == creds.access_key_id() {
                return Some(arn);
            }
        }
        let config = self.client_config(target).await.ok()?;
        let client = Client::from_conf(
            config
                .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
                .build(),
        );
        match client.get_caller_identity().send().await {
            Ok(out) => {
                let arn = out.arn().filter(|a| !a.is_empty())?.to_owned();
                tracing::debug!(principal = %arn, "the source principal, for the node cache");
                *self.principal.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((creds.access_key_id().to_owned(), arn.clone()));
                Some(arn)
            }
            Err(e) => {
                tracing::debug!(
                    "no source principal for the node cache (GetCallerIdentity): {}",
                    causes(&e)
                );
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
        let client = Client::from_conf(self.client_config(target).await?.build());
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(target.clone(), client.clone());
        Ok(client)
    }

    /// The configuration of an STS client for `target`, signing with the source credentials.
    async fn client_config(&self, target: &StsTarget) -> Result<aws_sdk_sts::config::Builder> {
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
        let mut builder =
            aws_sdk_sts::config::Builder::from(self.base(&region, &target.proxies).await)
                .http_client(self.routed(&target.proxies))
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
        Ok(builder)
    }

    /// An STS client for `target` that signs with `session` (the hop before, in a role chain).
    async fn client_as(&self, target: &StsTarget, session: &Session) -> Result<Client> {
        let credentials = Credentials::new(
            &session.access_key_id,
            &session.secret_access_key,
            Some(session.session_token.clone()),
            Some(session.expiration),
            "rolebridge-role-chain",
        );
        Ok(Client::from_conf(
            self.client_config(target)
                .await?
                .credentials_provider(SharedCredentialsProvider::new(credentials))
                .build(),
        ))
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

    /// The session of `spec`: one AssumeRole call, or with a role chain one per hop, each signed
    /// by the session of the hop before.
    pub async fn assume_role(&self, spec: &SessionSpec) -> Result<Session> {
        let calls = calls(spec);
        let mut session: Option<Session> = None;
        for call in &calls {
            let client = match &session {
                None => self.client(&spec.sts).await?,
                Some(before) => self.client_as(&spec.sts, before).await?,
            };
            match self.assume_one(&client, spec, call).await {
                Ok(s) => session = Some(s),
                Err(Error::Sts {
                    role_arn,
                    code,
                    message,
                    retryable,
                    ..
                }) if code == "AccessDenied" => {
                    // Name who was refused: one GetCallerIdentity with the same credentials.
                    let caller = client
                        .get_caller_identity()
                        .send()
                        .await
                        .ok()
                        .and_then(|out| out.arn().map(str::to_owned));
                    return Err(Error::Sts {
                        role_arn,
                        hint: hint(&code, call, caller.as_deref()),
                        code,
                        message,
                        retryable,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        session.ok_or_else(|| Error::Internal("a session spec without a role".into()))
    }

    async fn assume_one(
        &self,
        client: &Client,
        spec: &SessionSpec,
        call: &Call,
    ) -> Result<Session> {
        let policy_arns = (!call.policy_arns.is_empty()).then(|| {
            call.policy_arns
                .iter()
                .map(|a| PolicyDescriptorType::builder().arn(a).build())
                .collect::<Vec<_>>()
        });
        let tags = (!call.tags.is_empty()).then(|| {
            call.tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<std::result::Result<Vec<_>, _>>()
        });
        let tags = tags
            .transpose()
            .map_err(|e| Error::Internal(format!("a session tag: {e}")))?;
        let duration = i32::try_from(call.duration_secs).map_err(|_| {
            Error::Internal(format!("duration {} out of range", call.duration_secs))
        })?;
        let stats = STATS.try_with(Arc::clone).ok();
        let mut request = client
            .assume_role()
            .role_arn(&call.role_arn)
            .role_session_name(&spec.session_name)
            .duration_seconds(duration)
            .set_external_id(call.external_id.clone())
            .set_source_identity(call.source_identity.clone())
            .set_tags(tags)
            .set_transitive_tag_keys(
                (!call.transitive_tag_keys.is_empty()).then(|| call.transitive_tag_keys.clone()),
            )
            .set_policy(call.policy.clone())
            .set_policy_arns(policy_arns)
            .customize();
        if let Some(stats) = &stats {
            request = request.interceptor(CountThrottles(stats.clone()));
        }
        let started = Instant::now();
        let sent = request.send().await;
        let took = started.elapsed();
        let audit = |request_id: Option<&str>,
                     outcome: std::result::Result<(&str, SystemTime), &str>| {
            crate::metrics::audit(&AssumeRoleEvent {
                role_arn: &call.role_arn,
                session_name: &spec.session_name,
                source_identity: call.source_identity.as_deref(),
                request_id,
                outcome,
                took,
            })
        };
        let out = match sent {
            Ok(out) => out,
            Err(e) => {
                let request_id = e.request_id().map(str::to_owned);
                let e = map_error(spec, call, e);
                if let Some(stats) = &stats {
                    stats.assume_failed.fetch_add(1, Relaxed);
                    stats.sts_latency(took);
                }
                audit(request_id.as_deref(), Err(e.code()));
                return Err(e);
            }
        };
        let c = out.credentials().ok_or_else(|| Error::Sts {
            role_arn: call.label.clone(),
            code: "MissingCredentials".into(),
            message: "the AssumeRole response held no credentials".into(),
            hint: String::new(),
            retryable: true,
        })?;
        let expiration = SystemTime::try_from(*c.expiration()).map_err(|e| {
            Error::Internal(format!("STS returned an expiration out of range: {e}"))
        })?;
        if let Some(stats) = &stats {
            stats.assume_ok.fetch_add(1, Relaxed);
            stats.sts_latency(took);
        }
        audit(out.request_id(), Ok((c.access_key_id(), expiration)));
        Ok(Session {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().to_owned(),
            expiration,
        })
    }
}

/// The session of an intermediate role of a chain is used once, at once: the shortest STS allows.
const HOP_DURATION_SECS: u64 = 900;

/// One AssumeRole call of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Call {
    role_arn: String,
    /// The role as messages name it: with its place in the chain, if there is one.
    label: String,
    external_id: Option<String>,
    /// The setting the external ID comes from.
    external_id_key: String,
    /// Who signs the call, for messages.
    caller: String,
    duration_secs: u64,
    source_identity: Option<String>,
    tags: Vec<(String, String)>,
    transitive_tag_keys: Vec<String>,
    policy: Option<String>,
    policy_arns: Vec<String>,
}

/// The AssumeRole calls of `spec`, in order: each role of the chain, then `role_arn`.
///
/// - SourceIdentity and the transitive tags (with TransitiveTagKeys) go with the first call: STS
///   carries them on through every later hop, where they cannot be changed, and a later call that
///   sent a transitive tag's key again would be refused.
/// - The other tags, the session policies and the duration go with the last call, whose session
///   signs the requests; intermediate sessions last 15 minutes, the shortest STS allows.
fn calls(spec: &SessionSpec) -> Vec<Call> {
    let n = spec.chain.len() + 1;
    let source = "the source principal of this host's AWS default credential chain".to_owned();
    let transitive = |(k, _): &&(String, String)| spec.transitive_tag_keys.contains(k);
    (0..n)
        .map(|i| {
            let (first, last) = (i == 0, i == n - 1);
            let (role_arn, external_id, external_id_key) = match spec.chain.get(i) {
                Some(hop) => (
                    hop.role_arn.clone(),
                    hop.external_id.clone(),
                    format!(
                        "rolebridge.{}",
                        crate::settings::hop_external_id_name(i + 1)
                    ),
                ),
                None => (
                    spec.role_arn.clone(),
                    spec.external_id.clone(),
                    "rolebridge.external.id".to_owned(),
                ),
            };
            let label = if n == 1 {
                role_arn.clone()
            } else if last {
                format!(
                    "{role_arn} (role {n} of {n}: rolebridge.role.arn after rolebridge.role.chain)"
                )
            } else {
                format!(
                    "{role_arn} (role {} of {n}: hop {} of rolebridge.role.chain)",
                    i + 1,
                    i + 1
                )
            };
            let caller = if first {
                source.clone()
            } else {
                format!(
                    "the session of the role before it, {}",
                    spec.chain[i - 1].role_arn
                )
            };
            let mut tags: Vec<(String, String)> = Vec::new();
            if first {
                tags.extend(spec.tags.iter().filter(transitive).cloned());
            }
            if last {
                tags.extend(spec.tags.iter().filter(|t| !transitive(t)).cloned());
            }
            Call {
                role_arn,
                label,
                external_id,
                external_id_key,
                caller,
                duration_secs: if last {
                    spec.duration_secs
                } else {
                    HOP_DURATION_SECS
                },
                source_identity: spec.source_identity.clone().filter(|_| first),
                tags,
                transitive_tag_keys: if first {
                    spec.transitive_tag_keys.clone()
                } else {
                    Vec::new()
                },
                policy: spec.policy.clone().filter(|_| last),
                policy_arns: if last {
                    spec.policy_arns.clone()
                } else {
                    Vec::new()
                },
            }
        })
        .collect()
}

/// Where the node cache's records are remembered, for messages.
const ON_THIS_NODE: &str = "on this node (rolebridge.cache.dir)";

impl StsFetcher {
    /// A session valid until at least `min_expiration`: from the node-wide shared cache if the
    /// spec has one and it holds such a session, else from STS (under the shared cache's
    /// cross-process lock, so that one process of the node calls STS while the others wait and
    /// then read what it wrote). A refusal or throttling that a process of the node recorded for
    /// this source is answered at once, without STS (refusals only with `refusal_ttl` above zero).
    async fn fetch_shared_or_new(
        &self,
        spec: &SessionSpec,
        min_expiration: SystemTime,
        refusal_ttl: Duration,
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
        let Some(creds) = self.source_credentials(&spec.sts).await else {
            return self.assume_role(spec).await;
        };
        // Long-term keys are the same in every process and are told apart by their key alone;
        // temporary ones differ in every process (or as they rotate) and are told apart by their
        // principal, which STS names.
        let mut me = Me {
            source: SourceId {
                key: creds.access_key_id().to_owned(),
                principal: None,
            },
            temporary: creds.session_token().is_some(),
            creds,
        };
        if let Some(answer) = self
            .node_answer(&shared, spec, &mut me, min_expiration, refusal_ttl)
            .await
        {
            return answer;
        }
        let lock = shared.lock(spec, spec.sts.timeout).await;
        // Another process may have fetched the session, or been refused, while this one waited.
        if let Some(answer) = self
            .node_answer(&shared, spec, &mut me, min_expiration, refusal_ttl)
            .await
        {
            return answer;
        }
        // What this process writes must name its principal, or processes whose temporary keys
        // differ cannot share it: asked while STS makes the session.
        let result = if me.temporary && me.source.principal.is_none() {
            let asking = {
                let (this, target, creds) = (self.clone(), spec.sts.clone(), me.creds.clone());
                tokio::spawn(async move { this.principal_of(&target, &creds).await })
            };
            let result = self.assume_role(spec).await;
            match &result {
                Err(e) if !e.is_refusal() && !e.is_throttling() => asking.abort(),
                _ => me.source.principal = asking.await.ok().flatten(),
            }
            result
        } else {
            self.assume_role(spec).await
        };
        let session = match result {
            Ok(s) => s,
            Err(e) => {
                return Err(self
                    .remember_on_node(&shared, spec, &me.source, e, refusal_ttl)
                    .await)
            }
        };
        let written = {
            let (shared, spec, session) = (shared.clone(), spec.clone(), session.clone());
            let source = me.source.clone();
            off_runtime(move || {
                shared.clear_backoffs(&spec);
                shared.write(&spec, &source, &session)
            })
            .await
        };
        if let Some(Err(why)) = written {
            tracing::warn!("rolebridge.cache.dir: {why}");
        }
        drop(lock);
        Ok(session)
    }

    /// What the node cache already answers for `spec`, without STS: its session (valid until
    /// `min_expiration`), else a refusal or throttling it records that holds now.
    async fn node_answer(
        &self,
        shared: &SharedDir,
        spec: &SessionSpec,
        me: &mut Me,
        min_expiration: SystemTime,
        refusal_ttl: Duration,
    ) -> Option<Result<Session>> {
        if let Some(s) = self.shared_session(shared, spec, me, min_expiration).await {
            return Some(Ok(s));
        }
        self.node_backoff(shared, spec, me, refusal_ttl)
            .await
            .map(Err)
    }

    /// The node cache's session for `spec` that this process's source fetched, if there is one
    /// valid until `min_expiration`.
    async fn shared_session(
        &self,
        shared: &SharedDir,
        spec: &SessionSpec,
        me: &mut Me,
        min_expiration: SystemTime,
    ) -> Option<Session> {
        self.as_source(spec, me, |source| {
            let (shared, spec) = (shared.clone(), spec.clone());
            off_runtime(move || shared.read(&spec, &source, min_expiration))
        })
        .await
    }

    /// A refusal (with `refusal_ttl` above zero) or throttling of `spec` that the node cache
    /// records for this process's source and that holds now, as the error to answer with.
    async fn node_backoff(
        &self,
        shared: &SharedDir,
        spec: &SessionSpec,
        me: &mut Me,
        refusal_ttl: Duration,
    ) -> Option<Error> {
        for kind in [BackoffKind::Refusal, BackoffKind::Throttle] {
            if kind == BackoffKind::Refusal && refusal_ttl.is_zero() {
                continue;
            }
            let found = self
                .as_source(spec, me, |source| {
                    let (shared, spec) = (shared.clone(), spec.clone());
                    off_runtime(move || shared.read_backoff(&spec, kind, &source))
                })
                .await;
            let now = SystemTime::now();
            // A refusal holds for this reader no longer than its own refusal.ttl from STS's answer.
            let until = |b: &Backoff| match b.kind {
                BackoffKind::Refusal => b.until.min(b.at + refusal_ttl),
                BackoffKind::Throttle => b.until,
            };
            if let Some(b) = found.filter(|b| b.holds(now) && now < until(b)) {
                tracing::debug!(code = %b.code, until = ?b.until, "answered from the node cache's record, without STS");
                return Some(Error::remembered(
                    b.error(),
                    until(&b),
                    ON_THIS_NODE,
                    refusal_ttl,
                    b.throttles,
                    Some(&shared.backoff_path(spec, kind)),
                ));
            }
        }
        None
    }

    /// Records STS's refusal or throttling `e` of `spec` for this process's source (under the
    /// lock), and returns it remembered; any other error as it is.
    async fn remember_on_node(
        &self,
        shared: &SharedDir,
        spec: &SessionSpec,
        source: &SourceId,
        e: Error,
        refusal_ttl: Duration,
    ) -> Error {
        let Error::Sts {
            role_arn,
            code,
            message,
            hint,
            ..
        } = &e
        else {
            return e;
        };
        let now = SystemTime::now();
        let (kind, until, throttles) = if e.is_refusal() && !refusal_ttl.is_zero() {
            let until = now + crate::cache::refusal_jittered(refusal_ttl);
            (BackoffKind::Refusal, until, 0)
        } else if e.is_throttling() {
            let before = {
                let (shared, spec, source) = (shared.clone(), spec.clone(), source.clone());
                off_runtime(move || shared.read_backoff(&spec, BackoffKind::Throttle, &source))
                    .await
            };
            let n = match before {
                Some(Lookup::Use(b)) => b.throttles_at(now),
                _ => 0,
            }
            .saturating_add(1);
            (
                BackoffKind::Throttle,
                now + crate::cache::throttle_backoff(n),
                n,
            )
        } else {
            return e;
        };
        let record = Backoff {
            kind,
            role_arn: role_arn.clone(),
            code: code.clone(),
            message: message.clone(),
            hint: hint.clone(),
            at: now,
            until,
            throttles,
        };
        let written = {
            let (shared, spec, source) = (shared.clone(), spec.clone(), source.clone());
            off_runtime(move || shared.write_backoff(&spec, &source, &record)).await
        };
        if let Some(Err(why)) = written {
            tracing::warn!("rolebridge.cache.dir: {why}");
        }
        let path = shared.backoff_path(spec, kind);
        Error::remembered(e, until, ON_THIS_NODE, refusal_ttl, throttles, Some(&path))
    }

    /// What `read` finds for this process's source. A file written under another access key ID
    /// by a principal STS named applies if STS names this process's temporary credentials the
    /// same (asked then, once per key: `me` keeps it).
    async fn as_source<T, F, Fut>(&self, spec: &SessionSpec, me: &mut Me, read: F) -> Option<T>
    where
        F: Fn(SourceId) -> Fut,
        Fut: std::future::Future<Output = Option<Lookup<T>>>,
    {
        match read(me.source.clone()).await? {
            Lookup::Use(found) => Some(found),
            Lookup::Miss => None,
            Lookup::NeedPrincipal if !me.temporary => None,
            Lookup::NeedPrincipal => {
                me.source.principal = Some(self.principal_of(&spec.sts, &me.creds).await?);
                match read(me.source.clone()).await? {
                    Lookup::Use(found) => Some(found),
                    Lookup::Miss | Lookup::NeedPrincipal => None,
                }
            }
        }
    }
}

/// This process's source, as the node cache compares it.
struct Me {
    source: SourceId,
    creds: Credentials,
    /// Temporary credentials (with a session token), told apart by their principal.
    temporary: bool,
}

/// Runs file work of the node cache (whose directory may be slow: NFS, a busy disk) on the
/// runtime's blocking threads, never on the thread that drives every STS call. `None` if the
/// work could not run or panicked.
async fn off_runtime<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    tokio::task::spawn_blocking(work).await.ok()
}

impl StsFetcher {
    /// The source credentials themselves, as a session (`rolebridge.unmapped.buckets=source`):
    /// the default chain's, from this fetcher's cache of them. Long-term keys have no expiry; the
    /// session says an hour, so that the cache asks the chain again from time to time.
    async fn source_session(&self, target: &StsTarget) -> Result<Session> {
        let region = match (self.process_region().await, &target.region) {
            (Some(r), _) => r,
            (None, Some(r)) => Region::new(r.clone()),
            // The chain's own STS calls (web identity, SSO) need a region; plain keys and
            // instance profiles do not.
            (None, None) => Region::from_static("us-east-1"),
        };
        self.base(&region, &target.proxies).await;
        let no_source = |message: String| Error::Sts {
            role_arn: crate::cache::SOURCE_ONLY.to_owned(),
            code: "NoSourceCredentials".to_owned(),
            message,
            hint: "the AWS default credential chain (environment, profile, web identity, \
                   container, instance profile) found no credentials on this node"
                .to_owned(),
            retryable: true,
        };
        let source = self
            .source
            .get()
            .cloned()
            .ok_or_else(|| no_source("no credential chain".to_owned()))?;
        let c = source
            .0
            .credentials()
            .await
            .map_err(|e| no_source(causes(&e)))?;
        Ok(Session {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: c.session_token().unwrap_or_default().to_owned(),
            expiration: c
                .expiry()
                .unwrap_or_else(|| SystemTime::now() + LONG_TERM_KEYS_ASKED_AGAIN),
        })
    }
}

/// How often the source chain is asked again for keys without an expiry.
const LONG_TERM_KEYS_ASKED_AGAIN: Duration = Duration::from_secs(3600);

tokio::task_local! {
    /// The counters of the cache entry whose fetch is running, for each AssumeRole call it makes
    /// (a chain makes several) to be counted there and audited.
    static STATS: Arc<SessionStats>;
}

impl FetchSession for StsFetcher {
    fn fetch(
        &self,
        spec: &SessionSpec,
        min_expiration: SystemTime,
        refusal_ttl: Duration,
        stats: Arc<SessionStats>,
    ) -> BoxFuture<Result<Session>> {
        let this = self.clone();
        let spec = spec.clone();
        Box::pin(async move {
            if spec.source_only {
                return this.source_session(&spec.sts).await;
            }
            let calls = || stats.assume_ok.load(Relaxed) + stats.assume_failed.load(Relaxed);
            let before = calls();
            let result = STATS
                .scope(
                    stats.clone(),
                    this.fetch_shared_or_new(&spec, min_expiration, refusal_ttl),
                )
                .await;
            // One fetch of an entry at a time: the calls counted meanwhile are this fetch's.
            if calls() != before {
                stats.sts_fetches.fetch_add(1, Relaxed);
            } else if result.is_ok() {
                stats.from_node_cache.fetch_add(1, Relaxed);
            }
            result
        })
    }
}

/// Counts the attempts of an AssumeRole call that STS turned away as throttled (the SDK retries
/// them, so the call itself may still succeed).
#[derive(Debug)]
struct CountThrottles(Arc<SessionStats>);

impl Intercept for CountThrottles {
    fn name(&self) -> &'static str {
        "rolebridge-count-throttles"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let code = match context.output_or_error() {
            Some(Err(e)) => e
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<AssumeRoleError>())
                .and_then(|e| e.code()),
            _ => None,
        };
        if code.is_some_and(crate::metrics::is_throttling) {
            self.0.assume_throttled.fetch_add(1, Relaxed);
        }
        Ok(())
    }
}

/// What usually causes an STS error code for `call`, and how to fix it. `caller_arn`: who made
/// the call, as GetCallerIdentity answered after a refusal (`None` if it could not be asked).
fn hint(code: &str, call: &Call, caller_arn: Option<&str>) -> String {
    match code {
        "AccessDenied" => {
            let mut extra = String::new();
            if call.source_identity.is_some() {
                extra.push_str(", or the trust policy does not allow sts:SetSourceIdentity");
            }
            if !call.tags.is_empty() {
                extra.push_str(", or the trust policy does not allow sts:TagSession");
            }
            let caller = match caller_arn {
                Some(arn) => format!("{arn} ({})", call.caller),
                None => call.caller.clone(),
            };
            let external_id = match &call.external_id {
                Some(_) => format!(
                    "the external ID sent ({}) does not match the trust policy's sts:ExternalId \
                     condition",
                    call.external_id_key
                ),
                None => format!(
                    "the trust policy has an sts:ExternalId condition but no external ID was sent \
                     ({} is not set)",
                    call.external_id_key
                ),
            };
            format!(
                ". Usually: the role's trust policy does not name {caller}, or {external_id}\
                 {extra}, or the caller's own IAM policy does not allow sts:AssumeRole on the \
                 role, or the role does not exist"
            )
        }
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => {
            ". The source credentials of the AWS default chain on this host are not valid for this \
             STS endpoint (wrong keys, or keys of another partition)"
                .into()
        }
        "ExpiredToken" | "ExpiredTokenException" => {
            ". The source credentials have expired; renew them".into()
        }
        "RegionDisabledException" => {
            ". STS is not activated in this region for the source account: activate it in IAM \
             account settings, or set rolebridge.sts.region to an active region"
                .into()
        }
        "MalformedPolicyDocument" | "MalformedPolicyDocumentException" => {
            ". Check rolebridge.session.policy and rolebridge.session.policy.arns".into()
        }
        "PackedPolicyTooLarge" | "PackedPolicyTooLargeException" => {
            ". The session policy and tags are too large once packed; shorten \
             rolebridge.session.policy or rolebridge.session.tags"
                .into()
        }
        "ValidationError" => {
            ". If the message is about DurationSeconds: rolebridge.session.duration exceeds the \
             role's MaxSessionDuration (or 1h when the source is itself an assumed role)"
                .into()
        }
        _ => String::new(),
    }
}

/// Codes a later call may succeed with unchanged: every code the SDK classifies as throttling
/// (never remembered as a refusal), and STS's transient faults.
fn is_retryable_code(code: &str) -> bool {
    crate::error::THROTTLING_CODES.contains(&code)
        || matches!(
            code,
            "IDPCommunicationError" | "ServiceUnavailable" | "InternalFailure" | "InternalError"
        )
}

fn map_error(spec: &SessionSpec, call: &Call, err: SdkError<AssumeRoleError>) -> Error {
    let role_arn = call.label.clone();
    let endpoint = spec.sts.describe_route();
    match &err {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = se.err().code().unwrap_or("Unknown").to_owned();
            let message = se.err().message().unwrap_or("(no message)").to_owned();
            let retryable = status >= 500 || status == 429 || is_retryable_code(&code);
            Error::Sts {
                role_arn,
                hint: hint(&code, call, None),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{resolve, RawSettings};

    fn spec(extra: &[(&str, &str)]) -> SessionSpec {
        let mut raw = RawSettings::new(None, Some("alice"))
            .set(
                "rolebridge.role.arn",
                "arn:aws:iam::222222222222:role/final",
            )
            .set("rolebridge.external.id", "ext-final")
            .set("rolebridge.session.duration", "45m")
            .set("rolebridge.session.policy", "{}")
            .set("rolebridge.source.identity", "{user}")
            .set("rolebridge.session.tags", "user={user},team=data")
            .set("rolebridge.session.tags.transitive", "user");
        for (k, v) in extra {
            raw = raw.set(k, v);
        }
        SessionSpec::from_settings(&resolve(&raw).unwrap())
    }

    #[test]
    fn one_role_is_one_call_with_everything() {
        let c = calls(&spec(&[]));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].label, "arn:aws:iam::222222222222:role/final");
        assert_eq!(c[0].source_identity.as_deref(), Some("alice"));
        assert_eq!(c[0].tags.len(), 2);
        assert_eq!(c[0].transitive_tag_keys, vec!["user".to_owned()]);
        assert_eq!(
            (c[0].duration_secs, c[0].policy.as_deref()),
            (2700, Some("{}"))
        );
        assert_eq!(c[0].external_id_key, "rolebridge.external.id");
    }

    #[test]
    fn a_chain_sends_what_carries_on_first_and_the_rest_last() {
        let c = calls(&spec(&[
            (
                "rolebridge.role.chain",
                "arn:aws:iam::333333333333:role/hub,arn:aws:iam::444444444444:role/spoke",
            ),
            ("rolebridge.role.chain.2.external.id", "ext-spoke"),
        ]));
        assert_eq!(c.len(), 3);
        let roles: Vec<&str> = c.iter().map(|c| c.role_arn.as_str()).collect();
        assert_eq!(
            roles,
            [
                "arn:aws:iam::333333333333:role/hub",
                "arn:aws:iam::444444444444:role/spoke",
                "arn:aws:iam::222222222222:role/final"
            ]
        );
        // First: SourceIdentity and the transitive tag, which STS carries on; nothing else.
        assert_eq!(c[0].source_identity.as_deref(), Some("alice"));
        assert_eq!(c[0].tags, vec![("user".to_owned(), "alice".to_owned())]);
        assert_eq!(c[0].transitive_tag_keys, vec!["user".to_owned()]);
        assert_eq!((c[0].duration_secs, c[0].policy.as_deref()), (900, None));
        assert!(c[0].caller.starts_with("the source principal"));
        // Middle: what it inherits only, with its own external ID.
        assert_eq!(c[1].source_identity, None);
        assert!(c[1].tags.is_empty() && c[1].transitive_tag_keys.is_empty());
        assert_eq!(c[1].external_id.as_deref(), Some("ext-spoke"));
        assert_eq!(c[1].external_id_key, "rolebridge.role.chain.2.external.id");
        assert!(
            c[1].label.contains("hop 2 of rolebridge.role.chain"),
            "{}",
            c[1].label
        );
        assert!(c[1].caller.contains("role/hub"), "{}", c[1].caller);
        // Last: the other tags, the policy and the duration.
        assert_eq!(c[2].tags, vec![("team".to_owned(), "data".to_owned())]);
        assert_eq!(
            (c[2].duration_secs, c[2].policy.as_deref()),
            (2700, Some("{}"))
        );
        assert_eq!(c[2].external_id.as_deref(), Some("ext-final"));
        assert!(c[2].label.contains("role 3 of 3"), "{}", c[2].label);
        let h = hint("AccessDenied", &c[1], None);
        assert!(
            h.contains("rolebridge.role.chain.2.external.id") && h.contains("role/hub"),
            "{h}"
        );
        assert!(h.contains("the external ID sent"), "{h}");
        assert!(hint("AccessDenied", &c[0], None).contains("sts:SetSourceIdentity"));
        assert!(hint("AccessDenied", &c[2], None).contains("sts:TagSession"));
        // Issue 15 item 12: the principal named, and whether an external ID was sent.
        let h = hint(
            "AccessDenied",
            &c[0],
            Some("arn:aws:iam::111111111111:user/etl"),
        );
        assert!(
            h.contains("does not name arn:aws:iam::111111111111:user/etl (the source principal of this host's AWS default credential chain)"),
            "{h}"
        );
        assert!(
            h.contains("no external ID was sent (rolebridge.role.chain.1.external.id is not set)"),
            "{h}"
        );
        assert!(!h.contains("failure.mode"), "{h}");
    }
}
