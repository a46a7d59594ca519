package invariants

import (
	"strings"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/primus-dev/primus/internal/hacheck/render"
)

// decodeHPA reads a HorizontalPodAutoscaler of any served version as
// autoscaling/v2. The rules read only scaleTargetRef, minReplicas and
// maxReplicas, which every version spells alike; autoscaling/v1's
// targetCPUUtilizationPercentage becomes the v2 CPU metric the API server's
// own conversion makes of it.
func decodeHPA(o render.Object) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	if strings.HasPrefix(o.GetAPIVersion(), "autoscaling/v2") {
		if err := decode(o, h); err != nil {
			return nil, err
		}
		return h, nil
	}
	v1 := &autoscalingv1.HorizontalPodAutoscaler{}
	if err := decode(o, v1); err != nil {
		return nil, err
	}
	h.TypeMeta = v1.TypeMeta
	h.APIVersion = autoscalingv2.SchemeGroupVersion.String()
	h.ObjectMeta = v1.ObjectMeta
	h.Spec = autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
			Kind: v1.Spec.ScaleTargetRef.Kind, Name: v1.Spec.ScaleTargetRef.Name, APIVersion: v1.Spec.ScaleTargetRef.APIVersion,
		},
		MinReplicas: v1.Spec.MinReplicas,
		MaxReplicas: v1.Spec.MaxReplicas,
	}
	if cpu := v1.Spec.TargetCPUUtilizationPercentage; cpu != nil {
		h.Spec.Metrics = []autoscalingv2.MetricSpec{{
			Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{
				Name:   "cpu",
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: cpu},
			},
		}}
	}
	return h, nil
}
