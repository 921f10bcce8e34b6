// Renders wewe-rss output with wewe-rss's own feed code: FeedsService.renderFeed and handleGenerateFeed of
// apps/server/src/feeds/feeds.service.ts (cooderl/wewe-rss 253fa078), with the same `feed` package version.
import { Feed } from 'feed';
import fs from 'node:fs';

const originUrl = 'http://wewe.intranet:4000';
const feedInfo = { id: 'MP_WXS_3094757480', mpName: '岳麓发布', mpIntro: '岳麓区政务信息发布',
  mpCover: 'https://mmbiz.qpic.cn/mmbiz_png/cover/0', updateTime: 1733213400 };
const articles = [
  { id: 'MIuSs8kyV5PyyxV1ewh5CQ', title: '岳麓区召开2024年安全生产工作会议', publishTime: 1733212800, picUrl: 'https://mmbiz.qpic.cn/mmbiz_jpg/a/0?wx_fmt=jpeg' },
  { id: 'ltgeo2BIyqPQ9CCrO5oOVg', title: '关于做好冬季防火工作的通知 & 提醒', publishTime: 1733040000, picUrl: 'https://mmbiz.qpic.cn/mmbiz_jpg/b/0?wx_fmt=jpeg' },
];
for (const type of ['atom', 'rss', 'json']) {
  const link = `${originUrl}/feeds/${feedInfo.id}.${type}`;
  const feed = new Feed({ title: feedInfo.mpName, description: feedInfo.mpIntro, id: link, link: link,
    language: 'zh-cn', image: feedInfo.mpCover, favicon: feedInfo.mpCover, copyright: '',
    updated: new Date(feedInfo.updateTime * 1e3), generator: 'WeWe-RSS', author: { name: feedInfo.mpName } });
  feed.addExtension({ name: 'generator', objects: `WeWe-RSS` });
  for (const { title, id, publishTime, picUrl } of articles) {
    const link = `https://mp.weixin.qq.com/s/${id}`;
    feed.addItem({ id, title, link: link, guid: link, content: '', date: new Date(publishTime * 1e3), image: picUrl, author: undefined });
  }
  const out = type === 'rss' ? feed.rss2() : type === 'json' ? feed.json1() : feed.atom1();
  fs.writeFileSync(`feed.${type}`, out);
}
// Empty: a subscription wewe-rss follows that has no article yet.
const empty = new Feed({ title: feedInfo.mpName, description: feedInfo.mpIntro, id: `${originUrl}/feeds/${feedInfo.id}.atom`,
  link: `${originUrl}/feeds/${feedInfo.id}.atom`, language: 'zh-cn', image: feedInfo.mpCover, favicon: feedInfo.mpCover,
  copyright: '', updated: new Date(feedInfo.updateTime * 1e3), generator: 'WeWe-RSS', author: { name: feedInfo.mpName } });
empty.addExtension({ name: 'generator', objects: `WeWe-RSS` });
fs.writeFileSync('empty.atom', empty.atom1());
