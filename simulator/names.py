"""Word pools for a fictional district: unit names, account names, categories, people and headlines.

Everything here is invented. The district 云麓区 of 星城市 does not exist; street and community names are
ordinary place words.
"""

from __future__ import annotations

CITY = "星城市"
DISTRICT = "云麓区"
DISTRICT_SHORT = "云麓"
REGION_CODE = "430199"  # a code no real district uses

# (unit name, short name used in account names, category of its accounts)
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("区委宣传部", "云麓宣传", "新闻发布"),
    ("区公安分局", "云麓公安", "公共安全"),
    ("区市场监管局", "云麓区市场监管", "市场监管"),
    ("区卫生健康局", "云麓卫健", "卫生健康"),
    ("区教育局", "云麓教育", "教育"),
    ("区文化旅游体育局", "云麓文旅", "文化旅游"),
    ("区人力资源和社会保障局", "云麓人社", "政务服务"),
    ("区应急管理局", "云麓应急", "应急管理"),
    ("区融媒体中心", "云麓融媒", "新闻发布"),
    ("区民政局", "云麓民政", "民政"),
    ("区生态环境分局", "云麓生态环境", "生态环境"),
    ("区城市管理局", "云麓城管", "城市管理"),
    ("区政务服务中心", "云麓政务服务", "政务服务"),
)

# (street, its communities)
STREETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("望月湖街道", ("望月社区", "湖畔社区", "月塘社区")),
    ("桔园街道", ("桔园社区", "新桥社区")),
    ("银杏岭街道", ("银杏社区", "岭南社区", "松坡社区")),
    ("观沙街道", ("观沙社区", "沙河社区")),
    ("西湖街道", ("西湖社区", "荷花社区")),
    ("梅溪街道", ("梅溪社区", "溪口社区", "梅林社区")),
    ("咸嘉街道", ("咸嘉社区", "嘉园社区")),
)

# Suffixes for second and further accounts of one unit on one platform (the consolidation cases).
EXTRA_SUFFIXES = ("发布", "在线", "服务", "之声", "资讯", "微生活", "政务", "e家", "动态", "便民")
EXTRA_POLICE = ("云麓交警", "云麓公安户政", "云麓网警", "云麓禁毒", "云麓反诈")

CATEGORIES = (
    "党建",
    "政务服务",
    "公共安全",
    "新闻发布",
    "教育",
    "卫生健康",
    "文化旅游",
    "市场监管",
    "民政",
    "社区服务",
    "应急管理",
    "生态环境",
    "城市管理",
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "晓东",
    "海燕",
    "志强",
    "丹",
    "婷",
    "浩",
    "宇",
)

PROVINCE = "湖南"

# Headline pieces. A headline is a template filled with these; many templates carry the date, as
# real ones do, which keeps unrelated accounts from sharing a headline by chance.
TOPICS = (
    "安全生产",
    "防汛抗旱",
    "森林防火",
    "消防安全",
    "食品安全",
    "文明城市创建",
    "垃圾分类",
    "疫苗接种",
    "义务教育招生",
    "医保参保",
    "就业创业",
    "养老服务",
    "禁毒宣传",
    "反电信诈骗",
    "燃气安全",
    "老旧小区改造",
    "河长制",
    "扫黑除恶",
    "平安建设",
    "营商环境",
    "人居环境整治",
    "志愿服务",
    "全民健身",
    "未成年人保护",
    "普法宣传",
    "乡村振兴",
    "基层治理",
    "政务公开",
    "优化营商环境",
    "城市更新",
    "电动车安全",
    "校园安全",
    "防溺水",
    "冬季供暖",
    "高温防暑",
    "节能降耗",
    "双拥工作",
    "退役军人服务",
    "心理健康",
    "慢病管理",
    "社保卡办理",
    "公积金提取",
    "不动产登记",
    "企业开办",
    "12345热线",
    "交通安全",
    "无偿献血",
    "控烟",
)
ACTIONS = ("召开", "部署", "开展", "推进", "举办", "启动", "督导", "调研", "通报", "落实", "检查", "培训")
EVENTS = (
    "工作会议",
    "专题培训",
    "集中宣传活动",
    "专项检查",
    "推进会",
    "工作部署会",
    "现场观摩会",
    "应急演练",
    "志愿服务活动",
    "座谈会",
    "入户走访",
    "专项整治行动",
)
NOTICES = (
    "{unit}关于{topic}的温馨提示",
    "【提醒】{md}{unit}{topic}，这些事项请注意",
    "{md}起，{unit}{topic}有新变化",
    "一图读懂{unit}{topic}",
    "@{unit}居民朋友们，{topic}指南来了",
    "{unit}{topic}问答（{md}）：您关心的都在这里",
    "【通知】{unit}{topic}办理时间调整",
    "{md}{unit}{topic}工作情况通报",
)
HEADLINES = (
    "{unit}{action}{topic}{event}",
    "{md}，{unit}{action}{topic}{event}",
    "{unit}：{topic}{event}圆满完成",
    "{topic}｜{unit}{action}{event}",
    "聚焦{topic}，{unit}在行动（{md}）",
    "{md}{unit}{topic}{event}侧记",
    "{md}｜{unit}扎实推进{topic}",
    "【{topic}】{unit}{action}{event}",
)
SENTENCES = (
    "会议强调，要提高政治站位，压实工作责任。",
    "活动吸引了辖区居民百余人参加。",
    "下一步，将持续巩固工作成效，切实提升群众满意度。",
    "请广大市民相互转告。",
    "详情可拨打咨询电话了解。",
    "现场工作人员耐心解答群众疑问，发放宣传资料。",
    "此次检查共发现问题隐患若干处，已督促限期整改。",
    "各单位负责同志参加会议。",
)
REPOST_COMMENTS = ("转发微博", "转发学习", "关注！", "//@星城发布: 请周知", "扩散周知", "转发")
FOREIGN_NAMES = ("路过的网友", "星城吃货日记", "某某营销号")
