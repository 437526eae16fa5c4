package main

import (
	"reflect"
	"testing"
)

func TestMatchTokens(t *testing.T) {
	tf := []string{
		"openstack_networking_secgroup_rule_v2",
		"openstack_blockstorage_quotaset_v3",
		"openstack_objectstorage_object_v1",
		"openstack_lb_loadbalancer_v2",
		"openstack_taas_tap_mirror_v2",
	}
	sdk := []string{
		"openstack:networking/secGroupRule:SecGroupRule",
		"openstack:blockstorage/quoteSetV3:QuoteSetV3",
		"openstack:objectstorage/containerObject:ContainerObject",
		"openstack:loadbalancer/loadBalancer:LoadBalancer",
		"openstack:index/lbLoadbalancerV2:LbLoadbalancerV2",
		"openstack:index/taasTapMirrorV2:TaasTapMirrorV2",
		"openstack:compute/instance:Instance",
	}
	got := matchTokens(tf, sdk, false)
	want := map[string][]string{
		"openstack_networking_secgroup_rule_v2": {"openstack:networking/secGroupRule:SecGroupRule"},
		"openstack_blockstorage_quotaset_v3":    {"openstack:blockstorage/quoteSetV3:QuoteSetV3"},
		"openstack_objectstorage_object_v1":     {"openstack:objectstorage/containerObject:ContainerObject"},
		"openstack_lb_loadbalancer_v2": {
			"openstack:loadbalancer/loadBalancer:LoadBalancer", "openstack:index/lbLoadbalancerV2:LbLoadbalancerV2",
		},
		"openstack_taas_tap_mirror_v2": {"openstack:index/taasTapMirrorV2:TaasTapMirrorV2"},
	}
	if !reflect.DeepEqual(got.byTF, want) {
		t.Errorf("byTF = %v\nwant %v", got.byTF, want)
	}
	if !reflect.DeepEqual(got.unused, []string{"openstack:compute/instance:Instance"}) {
		t.Errorf("unused = %v", got.unused)
	}
}

func TestMatchFunctions(t *testing.T) {
	tf := []string{"openstack_dns_zone_v2", "openstack_workflow_workflow_v2", "openstack_networking_network_v2"}
	sdk := []string{
		"openstack:dns/getDnsZone:getDnsZone",
		"openstack:index/getWorkflowWorkflowV2:getWorkflowWorkflowV2",
		"openstack:index/workflowWorkflowV2:WorkflowWorkflowV2",
		"openstack:networking/getNetwork:getNetwork",
	}
	got := matchTokens(tf, sdk, true)
	if len(got.unused) != 0 {
		t.Errorf("unused = %v", got.unused)
	}
	if g := got.byTF["openstack_workflow_workflow_v2"]; len(g) != 2 ||
		g[0] != "openstack:index/getWorkflowWorkflowV2:getWorkflowWorkflowV2" {
		t.Errorf("workflow = %v", g)
	}
}
