include $(sort $(wildcard $(BR2_EXTERNAL_STABILITY_PATH)/package/*/*.mk))
