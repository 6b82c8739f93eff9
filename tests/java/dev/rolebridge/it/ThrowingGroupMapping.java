package dev.rolebridge.it;

import java.io.IOException;
import java.util.List;
import org.apache.hadoop.security.GroupMappingServiceProvider;

/**
 * A {@code hadoop.security.group.mapping} whose every lookup fails, as an LDAP or SSSD mapping does
 * when its server does not answer. Hadoop's {@code UserGroupInformation.getGroups()} catches the
 * failure and answers an empty list.
 */
public final class ThrowingGroupMapping implements GroupMappingServiceProvider {
  static final String FAILURE = "LDAP server ldap://ldap.test.invalid:636 did not answer within 10000 ms";

  @Override
  public List<String> getGroups(String user) throws IOException {
    throw new IOException(FAILURE + " (looking up the groups of " + user + ")");
  }

  @Override
  public void cacheGroupsRefresh() {
  }

  @Override
  public void cacheGroupsAdd(List<String> groups) {
  }
}
