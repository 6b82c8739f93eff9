package dev.rolebridge.it;

import java.util.Collections;
import java.util.List;
import org.apache.hadoop.security.GroupMappingServiceProvider;

/**
 * A {@code hadoop.security.group.mapping} that finds no groups for anyone, as Hadoop's shell
 * mapping does for a user {@code id} does not know (a user unknown on a core node).
 */
public final class NoGroupsMapping implements GroupMappingServiceProvider {
  @Override
  public List<String> getGroups(String user) {
    return Collections.emptyList();
  }

  @Override
  public void cacheGroupsRefresh() {
  }

  @Override
  public void cacheGroupsAdd(List<String> groups) {
  }
}
