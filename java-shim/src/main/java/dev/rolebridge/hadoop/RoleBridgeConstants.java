package dev.rolebridge.hadoop;

/**
 * Every setting rolebridge reads, with its default. Each {@code rolebridge.<rest>} key may also
 * be set per Hadoop user as {@code rolebridge.user.<USER>.<rest>}, per group as
 * {@code rolebridge.group.<GROUP>.<rest>} and per bucket as {@code rolebridge.bucket.<BUCKET>.<rest>};
 * for each setting the user's key wins, then the first of the user's groups with one, then the
 * bucket's, then the global key.
 * Where no {@code rolebridge.*} key is set, S3A's {@code fs.s3a.assumed.role.*} keys (and their
 * {@code fs.s3a.bucket.<BUCKET>.assumed.role.*} forms) are read. The native library resolves and
 * validates them; this class names them for users and tests.
 */
public final class RoleBridgeConstants {
  private RoleBridgeConstants() {
  }

  /** Prefix of every rolebridge key. */
  public static final String PREFIX = "rolebridge.";
  /** Prefix of per-bucket keys: {@code rolebridge.bucket.<BUCKET>.<rest>}. */
  public static final String BUCKET_PREFIX = "rolebridge.bucket.";
  /** Prefix of per-user keys: {@code rolebridge.user.<USER>.<rest>} (the Hadoop short user name). */
  public static final String USER_PREFIX = "rolebridge.user.";
  /** Prefix of per-group keys: {@code rolebridge.group.<GROUP>.<rest>}; the user's first group with one wins. */
  public static final String GROUP_PREFIX = "rolebridge.group.";
  /** Prefix of S3A's assumed-role keys, read where no rolebridge key is set. */
  public static final String S3A_ASSUMED_ROLE_PREFIX = "fs.s3a.assumed.role.";
  /**
   * Prefix of S3A's proxy keys ({@code fs.s3a.proxy.host}, {@code .port}, {@code .username},
   * {@code .password}, {@code .secured}; per bucket {@code fs.s3a.bucket.<BUCKET>.proxy.*}): the
   * provider's STS calls go through the proxy S3A's own requests use. See docs/proxies.md.
   */
  public static final String S3A_PROXY_PREFIX = "fs.s3a.proxy.";
  /** The proxy keys whose values may be kept in a Hadoop credential provider (as S3A reads them). */
  static final String[] S3A_PROXY_SECRET_PARTS = {"username", "password"};

  /** ARN of the role to assume in the destination account. Required. */
  public static final String ROLE_ARN = "rolebridge.role.arn";
  /** ExternalId sent with AssumeRole; must match the trust policy's sts:ExternalId. */
  public static final String EXTERNAL_ID = "rolebridge.external.id";
  /** Role session name, 2-64 characters of [\w+=,.@-]. */
  public static final String SESSION_NAME = "rolebridge.session.name";
  /** Default session name: this prefix and the Hadoop short user name. */
  public static final String SESSION_NAME_DEFAULT_PREFIX = "rolebridge-";
  /** The placeholder for the Hadoop short user name in session.name, source.identity and session.tags. */
  public static final String USER_PLACEHOLDER = "{user}";
  /** SourceIdentity sent with AssumeRole (2-64 characters of [\w+=,.@-]); CloudTrail records it for every action. */
  public static final String SOURCE_IDENTITY = "rolebridge.source.identity";
  /** Session tags: {@code key=value,key=value}, at most 50. */
  public static final String SESSION_TAGS = "rolebridge.session.tags";
  /** Comma-separated keys of {@link #SESSION_TAGS} that carry on through role chains. */
  public static final String SESSION_TAGS_TRANSITIVE = "rolebridge.session.tags.transitive";
  /**
   * Comma-separated role ARNs assumed in order, each with the session of the one before, before
   * {@link #ROLE_ARN}; hop N's external ID is {@code rolebridge.role.chain.<N>.external.id}.
   */
  public static final String ROLE_CHAIN = "rolebridge.role.chain";
  /** Session duration in Hadoop time units (1h, 900s, 45m), 15m to 12h (1h with a chain). */
  public static final String SESSION_DURATION = "rolebridge.session.duration";
  public static final String SESSION_DURATION_DEFAULT = "1h";
  /** Inline session policy, JSON, at most 2048 characters. */
  public static final String SESSION_POLICY = "rolebridge.session.policy";
  /** Comma-separated managed policy ARNs for the session, at most 10. */
  public static final String SESSION_POLICY_ARNS = "rolebridge.session.policy.arns";
  /** Region of the STS endpoint; {@code aws-global} for sts.amazonaws.com. */
  public static final String STS_REGION = "rolebridge.sts.region";
  /** STS endpoint URL override (VPC endpoints, tests). */
  public static final String STS_ENDPOINT = "rolebridge.sts.endpoint";
  /** Bound on one STS call, retries included (Hadoop time units), 1s to 5m. */
  public static final String STS_TIMEOUT = "rolebridge.sts.timeout";
  public static final String STS_TIMEOUT_DEFAULT = "30s";
  /**
   * What happens when no credentials can be had: {@code closed} (default) throws
   * {@link RoleBridgeCredentialsUnavailableError}, which provider chains do not catch, so they
   * cannot fall back to another identity; {@code open} throws an exception a chain may catch.
   */
  public static final String FAILURE_MODE = "rolebridge.failure.mode";
  public static final String FAILURE_MODE_DEFAULT = "closed";
  /** Fetch a new session this long before expiry. */
  public static final String REFRESH_AHEAD = "rolebridge.refresh.ahead";
  public static final String REFRESH_AHEAD_DEFAULT = "5m";

  /** System property: explicit path of librolebridge.so (no fallback after it). */
  public static final String NATIVE_PATH_PROPERTY = "rolebridge.native.path";
  /** Environment variable: explicit path of librolebridge.so. */
  public static final String NATIVE_PATH_ENV = "ROLEBRIDGE_NATIVE_PATH";
  /** System property: directory the bundled library is extracted to (default java.io.tmpdir). */
  public static final String NATIVE_TMPDIR_PROPERTY = "rolebridge.native.tmpdir";

  /** Error text: getCredentials() before setConf() on a provider made with the no-arg constructor. */
  public static final String E_NOT_CONFIGURED =
      "rolebridge provider has no configuration: construct it with (URI, Configuration) or"
          + " (Configuration), or call setConf() before getCredentials()";
  /** Error text: the provider was used after close(). */
  public static final String E_CLOSED = "rolebridge provider is closed";

  /** Hadoop's key naming the group mapping class, which messages name. */
  public static final String HADOOP_GROUP_MAPPING = "hadoop.security.group.mapping";
  /**
   * Error text: a {@code rolebridge.group.*} key is set and the user's groups cannot be had. %1$s
   * the group key, %2$s the user, %3$s the group mapping class, %4$s why (the mapping's error).
   */
  public static final String E_NO_GROUPS = "%1$s is set, so the groups of Hadoop user %2$s must be known,"
      + " but the lookup through Hadoop's group mapping (" + HADOOP_GROUP_MAPPING + "=%3$s) found no"
      + " groups: %4$s. Without them the bucket's or the global settings would apply to a member of a group"
      + " that has settings of its own, so rolebridge refuses. Make the group mapping know the user on"
      + " this node (the shell mapping runs `id %2$s`; an LDAP or SSSD mapping needs its server), or"
      + " remove the rolebridge.group.* keys";
  /** Error text: the Hadoop user cannot be had; %s is the failure and its causes. */
  public static final String E_NO_HADOOP_USER = "rolebridge: the Hadoop user this provider is made for"
      + " cannot be had: UserGroupInformation.getCurrentUser() failed: %s. Per-user and per-group"
      + " settings, {user} and the default session name all depend on who the caller is, and the OS"
      + " user (user.name, often a service account such as yarn or hadoop) is not the caller, so"
      + " rolebridge refuses rather than guess. Fix the Hadoop login of this process (its Kerberos"
      + " ticket or keytab, HADOOP_TOKEN_FILE_LOCATION, HADOOP_PROXY_USER)";

  /** How a host made a provider, as messages name it. */
  public static final String BY_URI_CONF = "the (URI, Configuration) constructor with no bucket in the URI";
  public static final String BY_CONF = "the (Configuration) constructor";
  public static final String BY_SET_CONF = "the no-argument constructor and setConf (EMRFS falls back to"
      + " these when the (URI, Configuration) constructor threw: look for that error as well)";
  /** Per-bucket settings where the provider has no bucket; %s is how the host made it. */
  public static final String E_NO_BUCKET = "per-bucket settings are set, but the host made this provider"
      + " with %s, which tells it no bucket: they would be ignored, and every bucket's requests signed"
      + " with the global settings. Have the host construct the provider with (URI, Configuration)"
      + " and the file system's URI, as S3A and EMRFS do, or set the values without the bucket part"
      + " (rolebridge.*)";
}
